"""The crisis screen's vocabulary: concepts, text-speak, and the rules that combine concepts.

Everything here is folded text (lower case, no accents). A concept is a set of words or short phrases
that mean the same thing to the screen ("pills", "tablets", "pastillas", "klonopin" are all PILLS); a
rule is a few concepts close together ("took" ... "all" ... "pills"). Rules are written against
concepts, never against whole sentences, so a new phrasing of a known idea is recognised without being
listed. The engine that applies them is in `crisis.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------------
# Text-speak and contractions: one token becomes several ("cant" -> "can not", "kms" -> "kill myself").
# Keys are looked up with their apostrophe and then without it.
# ---------------------------------------------------------------------------------------------------
_NOT_CONTRACTIONS = {
    "cant": "can not",
    "cannot": "can not",
    "cnt": "can not",
    "caint": "can not",
    "wont": "will not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "aint": "am not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "wouldnt": "would not",
    "couldnt": "could not",
    "shouldnt": "should not",
    "mustnt": "must not",
    "dnt": "do not",
    "didn": "did not",
    "don": "do not",
}

EXPANSIONS: dict[str, str] = {
    **_NOT_CONTRACTIONS,
    "i'm": "i am",
    "im": "i am",
    "iam": "i am",
    "ima": "i am going to",
    "imma": "i am going to",
    "i've": "i have",
    "ive": "i have",
    "i'd": "i would",
    "id": "i would",
    "i'll": "i will",
    "ill": "i will",
    "he's": "he is",
    "hes": "he is",
    "she's": "she is",
    "shes": "she is",
    "they're": "they are",
    "theyre": "they are",
    "there's": "there is",
    "theres": "there is",
    "it's": "it is",
    "that's": "that is",
    "thats": "that is",
    "you're": "you are",
    "youre": "you are",
    "u": "you",
    "ur": "your",
    "r": "are",
    "wanna": "want to",
    "wana": "want to",
    "gonna": "going to",
    "gona": "going to",
    "finna": "going to",
    "gotta": "got to",
    "tryna": "trying to",
    "kms": "kill myself",
    "kys": "kill yourself",
    "idk": "i do not know",
    "idc": "i do not care",
    "dunno": "do not know",
    "rn": "right now",
    "tbh": "to be honest",
    "ngl": "not going to lie",
    "ppl": "people",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "hubby": "husband",
    "cuz": "because",
    "bc": "because",
    "od'd": "overdosed",
    "o.d": "overdose",
    "w/o": "without",
    "myslef": "myself",
    "mysef": "myself",
    "selfharm": "self harm",
    # Spanish text-speak.
    "q": "que",
    "k": "que",
    "xq": "porque",
    "pq": "porque",
    "toy": "estoy",
    "stoy": "estoy",
    "tb": "tambien",
    "nd": "nada",
}

# Spanish object pronouns glued to a verb: "matarme" -> "matar me", "pegarle" -> "pegar le".
CLITICS = ("nos", "los", "las", "les", "me", "te", "se", "lo", "la", "le")
CLITIC_HOST_ENDINGS = ("ar", "er", "ir", "ando", "iendo")


def _word_set(spec: str) -> frozenset[str]:
    return frozenset(spec.split(","))


def _en(*bases: str) -> str:
    """English verb forms for each base: kill -> kill, kills, killed, killing, killin."""
    forms: list[str] = []
    for base in bases:
        forms += [base, base + "s", base + "ed", base + "ing", base + "in"]
        if base.endswith("e"):
            forms += [base + "d", base[:-1] + "ing", base[:-1] + "in"]
        if len(base) >= 3 and base[-1] not in "aeiouwy" and base[-2] in "aeiou" and base[-3] not in "aeiou":
            forms += [base + base[-1] + "ed", base + base[-1] + "ing"]
    return ",".join(forms)


# ---------------------------------------------------------------------------------------------------
# Concepts. Each value is a comma-separated list of words or phrases (phrases are merged into one token
# before matching, longest first, so "passed out" and "short of breath" behave as single words).
# ---------------------------------------------------------------------------------------------------
CONCEPTS: dict[str, str] = {
    # Grammar -----------------------------------------------------------------------------------
    "NEG": "no,not,never,nor,without,denies,deny,denied,denying,negative,nothing,none,zero,neither,"
    "sin,nunca,ni,tampoco,ningun,ninguna,ninguno,nada,jamas,niega",
    # A negation stops at these (and at punctuation): "no chest pain but i can't breathe".
    "TERM": "but,though,although,however,except,besides,i,pero,aunque,sino,yo,because,porque,and,y,then,so,now,"
    "luego,entonces,ahora",
    "LAUGH": "lol,lmao,lmfao,rofl,haha,hahaha,hehe,jaja,jajaja,jajajaja,jeje,jk,xd,lool,lolol",
    "PAST": "years ago,year ago,months ago,month ago,last year,last month,as a kid,as a child,"
    "when i was a kid,when i was little,when i was young,in high school,in college,hace anos,hace meses,"
    "hace mucho,hace mucho tiempo,el ano pasado,de nino,de nina,de chico,de chica,de pequeno,de pequena",
    "ROUTINE": "as prescribed,as directed,as usual,like usual,like always,as always,like you said,"
    "como siempre,como me indicaron,como me dijeron,como indicado,every night,every morning,every day",
    "ME": "me",
    "MYSELF": "myself,my self,my own self,meself,mi mismo,mi misma,a mi mismo,a mi misma",
    "YOURSELF": "yourself,urself",
    "MY": "my,mi,mis,all my,my own",
    "SELF_BE": "am,soy,feel like,siento que soy,just",
    "IAM": "am,estoy",
    "CAN": "can,could,pueda,puedo,podre,podria",
    "CANT": "can not,could not,unable to,not able to,no puedo,no pude,no podia,no puede,no podemos,"
    "can barely,can hardly,no logro,no he podido,no ha podido,have not been able to,has not been able to,"
    "not been able to,have not been able,no consigo",
    "EVERY_THING": "everything,anything,todo,cualquier cosa",
    "AGAIN": "again,otra vez,de nuevo",
    "MORE": "anymore,any more,any longer,mas,ya mas",
    "THIS_IT": "this,it,esto,that",
    "DO_TAKE": "do,take,handle,soportar,aguantar",
    "OF": "of,de",
    "INSTEAD_OF": "instead of,en vez de,en lugar de",
    "DOUBT": "not sure,do not know if,not know if,do not think,do not know how much longer,unsure,"
    "no se si,no creo,no estoy seguro,no estoy segura,doubt",
    # Self-harm and suicide ----------------------------------------------------------------------
    "SUICIDE": "suicide,suicidal,suicidality,suicidio,suicida,suicidas,suicidarme,suicidarse,suicidar,"
    "suicidandome,end it all,ending it all,self harm,self harming,self harmed,autolesion,autolesiones,"
    "autolesionarme,kill myself,kill my self,unalive myself,off myself,sleep forever,dormir para siempre,"
    "noose,carta de despedida,suicide note,goodbye note,goodbye letter,goodbye letters,"
    "end of my rope",
    "KILL": _en("kill", "murder") + ",unalive,unalived,kil,kiling",
    "SELFVERB": _en("kill", "hurt", "harm", "cut", "burn", "hang", "shoot", "stab", "drown", "starve", "slit")
    + ",hurt,cut,shot,hung,unalive,kil",
    "SELFVERB_ES": "matar,lastimar,cortar,herir,ahorcar,colgar,quemar,envenenar,tirar,aventar,lanzar,"
    "suicidar,matando,lastimando,cortando,quitar,disparar,pegar",
    "KILL_ES": "matar,mato,mate,matare,mataria,matando",
    "DIE": "die,dies,died,dying,dyin,dead,death,morir,morirme,muerto,muerta,muerte,morirse,muera,"
    "muriendo,muero",
    "WANT": _en("want", "wish") + ",wanted,quiero,quisiera,queria,deseo",
    "INTENT": _en("want", "wish", "plan", "hope", "urge", "think", "consider", "contemplate", "fantasize")
    + ",ready,going to,about to,feel like,feels like,felt like,would rather,rather,thought,thoughts,"
    "tempted,decided,deserve,ideation,quiero,quisiera,queria,ganas,pienso,pensando,pensamientos,pensado,"
    "planeo,planeando,voy a,ojala,deseo,desearia,me dan ganas,tengo ganas,fantasies,keep thinking",
    "INTENT_HARM": "will,might,may,could,scared,afraid,swear,miedo,going to,gonna,want,wanted,wanting,"
    "wish,plan,planning,think,thinking,thought,thoughts,urge,urges,feel like,ready,about to,quiero,"
    "quisiera,ganas,pienso,pensando,pensamientos,voy a,tengo ganas,me dan ganas,tempted,fantasize,"
    "fantasizing,keep thinking,decided",
    "VOY": "voy,vo,voy a",
    "HACER": "hacer,haciendo",
    "CRASH_ALONE": "rear ended,rear end,rear ending,t boned,sideswiped,ran off the road,fender bender,"
    "car accident,car crash,wrecked my car,totaled my car,crashed my car,crashed the car,accidente de carro,"
    "accidente de coche,accidente de auto,choque el carro,me chocaron",
    "FILLER": "to be honest,not going to lie",
    "END": "end,ends,ended,ending,take,taking,took,quitar,quitarme,acabar,terminar,terminar con,acabar con,"
    "termine,acabe,se acabe,se termine,be over",
    "LIFE": "life,own life,vida,mi vida,la vida,my life,this life",
    "LIFE_OBJ": "it,things,everything,all,it all,todo,con todo",
    "LIVE": "live,living,alive,keep living,go on living,stay alive,seguir viviendo,exist,existing,be here,be alive,be around,wake up,vivir,viviendo,vivo,viva,"
    "existir,estar aqui,estar vivo,estar viva,seguir aqui,despertar,life,vida,la vida,breathing anymore",
    "BE_HERE": "be here,be around,be alive,be here anymore,be around anymore,siga aqui,seguir aqui,"
    "estar aqui,sigo aqui,be here much longer,be around much longer,estar vivo,estar viva",
    "POINT": "point,reason,sense,purpose,sentido,razon,caso,motivo",
    "WORTH": "worth,worth it,vale la pena,valga la pena,vale,worthwhile",
    "TIRED": "tired,sick,done,fed up,exhausted,cansado,cansada,harto,harta",
    "BETTER": "better,better off,mejor,mejores",
    "WITHOUT": "without,sin",
    "ME_OBJ": "me,mi",
    "BURDEN": "burden,carga,estorbo",
    "DISAPPEAR": _en("disappear", "vanish") + ",desaparecer,gone forever",
    "SAY": _en("say", "write") + ",said,wrote,written,writing,saying,left,escribi,escribiendo,dije",
    "GOODBYE": "goodbye,goodbyes,good bye,farewell,farewells,despedida,despedidas",
    "SAID_GOODBYE": "me despedi,despidiendome,me estoy despidiendo",
    "NOTE": "note,notes,letter,letters,carta,cartas",
    "EVERYONE": "everyone,everybody,family,kids,todos,familia",
    "HAVE": "have,got,made,tengo,hice,have got",
    "PLAN": "plan,a plan,un plan",
    "GIVE_AWAY": "gave away,give away,giving away,given away,gave all,regale,regalando,regalado",
    "JUMP": _en("jump") + ",leap,aventar,aventarme,tirarme,lanzarme,aventandome,tirandome",
    "HIGH_PLACE": "bridge,building,roof,rooftop,cliff,balcony,overpass,train,traffic,puente,edificio,techo,"
    "azotea,balcon,tren,in front of a train,in front of a car,in front of a bus,in front of a truck,"
    "into traffic,frente al tren,frente a un carro,delante del tren",
    "ROPE": "rope,noose,soga,cuerda",
    "ACQUIRE": "bought,buy,buying,got,have,ordered,tengo,compre,consegui",
    "SAVED": "saved,saving,stockpiled,stockpiling,stockpile,hoarding,hoarded,stashed,stashing,stash,"
    "guardadas,guardados,guardando,ahorrando,juntando,juntado,guarde",
    "CUTTING": "cutting,cuttin,burning myself",
    "CUT_ES": "corte,corto,cortando,cortar,cortado,queme,quemando",
    "BODYPART": "arm,arms,wrist,wrists,thigh,thighs,leg,legs,skin,stomach,brazo,brazos,muneca,munecas,"
    "pierna,piernas,piel",
    "GO_ON": "go on,keep going,keep living,hold on,make it,carry on,survive,seguir,seguir adelante,"
    "aguantar,seguir viviendo,continuar",
    "AGUANTO": "aguanto,soporto,puedo mas",
    "OUT": "out,out of",
    "SLEEP_WISH": "sleep,hope,wish,want,ojala,dormir,dormirme,pray",
    "WAKE": "wake,wake up,waking,woke,wake up tomorrow,despertar,despierte,despertarme,amanecer",
    # Overdose and poisoning ---------------------------------------------------------------------
    "OVERDOSE": "overdose,overdosed,overdosing,overdoses,od,over dose,over dosed,sobredosis,odeado,odie",
    "TAKE_PAST": "took,taken,taking,swallowed,swallow,ate,eaten,popped,downed,chugged,gulped,ingested,"
    "tome,me tome,trague,me trague,tragado,tomado,me he tomado,bebi,consumi,injected",
    "SWALLOW": "swallowed,swallowing,downed,chugged,gulped,trague,me trague,tragado,tragandome",
    "TAKE3": "se tomo,se trago,se comio,took,swallowed,ate,got into,se metio",
    "GOT_INTO": "got into,got in to,gotten into,se metio en",
    "Q": "all,all my,all of my,all of,all the,whole,entire,every,bunch,a bunch,handful,a handful,ton,a ton,tons,lots,a lot,lot,many,several,"
    "rest of,the rest of,double,triple,todas,todos,toda,todo,muchas,muchos,entero,entera,varias,varios,"
    "un monton,un punado,doble,triple,mas,more,fistful,extra,bunches,like a hundred",
    "TOO_MUCH": "too many,too much,way too many,way too much,demasiado,demasiadas,demasiados,de mas,"
    "more than i should,more than prescribed,mas de la cuenta,mas de lo que",
    "PILLS": "pill,pills,pils,pillz,tablet,tablets,tabs,meds,med,medication,medications,medicine,medicines,"
    "capsule,capsules,caps,dose,doses,dosage,prescription,bottle,bottles,pack,packet,box,"
    "pastilla,pastillas,pildora,pildoras,medicina,medicinas,medicamento,medicamentos,frasco,caja,"
    "bote,dosis,capsulas,"
    "sleeping pills,sleeping pill,painkillers,pain killers,benzos,opioids,opiates,lozenges,troches,gummies,"
    "edibles,advil,tylenol,ibuprofen,acetaminophen,paracetamol,aspirin,aleve,naproxen,excedrin,"
    "benadryl,nyquil,melatonin,xanax,klonopin,clonazepam,lorazepam,ativan,valium,diazepam,ambien,"
    "zolpidem,trazodone,seroquel,quetiapine,lithium,litio,sertraline,zoloft,prozac,fluoxetine,lexapro,"
    "escitalopram,citalopram,wellbutrin,bupropion,effexor,venlafaxine,cymbalta,duloxetine,oxy,"
    "oxycodone,oxycontin,percocet,vicodin,hydrocodone,fentanyl,morphine,tramadol,codeine,gabapentin,"
    "lamictal,lamotrigine,adderall,ritalin,insulin,ketamine,spravato,clonidine,metoprolol,propranolol,"
    "lisinopril,amlodipine,abilify,risperdal,zyprexa,olanzapine,depakote,topamax,hydroxyzine,"
    "buspirone,mirtazapine,remeron,trazadone,suboxone,methadone,heroin,tafil,alprazolam,rivotril",
    "CONTAINER": "bottle,bottles,pack,packet,box,blister,frasco,caja,bote,sleeve,strip",
    "NUM": "",  # numbers are tagged by the engine
    "BIGNUM": "five,six,seven,eight,nine,ten,eleven,twelve,fifteen,twenty,thirty,forty,fifty,hundred,"
    "dozen,a dozen,cinco,seis,siete,ocho,nueve,diez,doce,quince,veinte,treinta,cuarenta,cincuenta,cien,"
    "una docena",
    "INGEST": "drank,drink,drinking,drunk,swallowed,swallow,ate,eaten,took,taken,ingested,sipped,tome,"
    "tomo,se tomo,bebi,bebio,trague,se trago,me tome",
    "POISON": "bleach,antifreeze,poison,rat poison,cleaning,cleaning stuff,cleaning products,cleaner,"
    "detergent,tide pod,tide pods,lye,ammonia,pesticide,weed killer,drain cleaner,cloro,veneno,"
    "veneno para ratas,lejia,raticida,detergente,amoniaco,pesticida,insecticida,matarratas,clorox,"
    "windex,mouthwash,gasoline,gasolina",
    "POISONED_SELF": "poisoned myself,poisoning myself,me envenene,envenenarme,me estoy envenenando",
    "MIX": "mixed,mixing,mix,combined,mezcle,mezclando,mezclar",
    "ALCOHOL": "alcohol,wine,vodka,beer,beers,liquor,whiskey,whisky,tequila,booze,rum,gin,drinks,vino,"
    "cerveza,cervezas,trago,tragos,licor,together,juntas,juntos,on purpose",
    "MORE_THAN": "more than,way more than,mas de,mas de lo que,mas de las que,mas de los que",
    "SUPPOSED": "supposed,should,prescribed,allowed,told,recommended,directed,debia,deberia,indicado,"
    "indicaron,recetado,recetaron,permitido",
    "OVERDID": "me pase,me pase con,me pase de,overdid,overdid it",
    # Harm to others ------------------------------------------------------------------------------
    "HARM_VERB": _en(
        "kill",
        "murder",
        "hurt",
        "harm",
        "stab",
        "shoot",
        "strangle",
        "choke",
        "punch",
        "beat",
        "attack",
        "poison",
        "burn",
        "smother",
        "drown",
        "slap",
        "hit",
        "assault",
        "strangle",
    )
    + ",hurt,shot,hit,beat,beaten,beat up,shoot up,matar,mato,mate,matare,lastimar,lastimo,lastime,"
    "lastimare,herir,hiero,golpear,golpeo,golpee,pegar,pego,pegue,quemar,quemo,queme,ahorcar,ahorco,"
    "apunalar,apunalo,disparar,disparo,dispare,envenenar,ahogar,dano,hacer dano",
    "HARM_ES_1P": "matar,mato,mate,matare,lastimar,lastimo,lastime,lastimare,herir,hiero,golpear,golpeo,"
    "golpee,pegar,pego,pegue,quemar,quemo,queme,ahorcar,ahorco,apunalar,apunalo,disparar,disparo,"
    "envenenar,ahogar,dano,hacer dano",
    "OTHER": "him,her,them,his,someone,somebody,anyone,anybody,people,everyone,everybody,others,"
    "other people,husband,wife,boyfriend,girlfriend,partner,ex,boss,coworker,coworkers,roommate,"
    "roommates,neighbor,neighbour,neighbors,neighbours,mom,mother,dad,father,brother,sister,son,daughter,"
    "kid,kids,child,children,baby,babies,toddler,toddlers,grandson,granddaughter,grandkids,nephew,niece,"
    "infant,kiddo,nieto,nieta,sobrino,sobrina,family,guy,man,woman,teacher,cop,cops,school,office,work,"
    "alguien,todos,todas,esposo,esposa,marido,mujer,pareja,novio,novia,jefe,jefa,vecino,vecina,vecinos,"
    "mama,papa,madre,padre,hermano,hermana,hijo,hija,hijos,hijas,ninos,nino,nina,bebe,familia,"
    "companero,companera,companeros,cunado,cunada,suegra,suegro,gente,maestro,maestra,trabajo,oficina,"
    "escuela,ese tipo,esa vieja,a alguien",
    "OTHER_CLITIC": "lo,la,le,los,las,les",
    "RUN": "run,running,ran,atropellar,atropellarlo,atropellarla",
    "OVER": "over,down",
    "WEAPON": "gun,guns,knife,knives,pistol,rifle,firearm,weapon,weapons,shotgun,pistola,cuchillo,arma,"
    "armas,navaja,machete",
    "THREAT": "who it is for,who its for,who it's for,make them pay,make him pay,make her pay,pay for this,"
    "pay for what,revenge,venganza,para quien es,me las va a pagar,me la va a pagar,me las van a pagar",
    "HOMICIDAL": "homicidal,homicida,homicidas",
    "TEXTMSG": "text,texts,message,email,msg,line,call,note,a text,a message,an email,a line,a call,a note,"
    "a quick text,a quick message",
    # Medical emergency ---------------------------------------------------------------------------
    "CHEST": "chest,chests,pecho,cheast",
    "HEART": "heart,corazon",
    "PAIN": "pain,pains,pian,pane,paine,painful,hurt,hurts,hurting,ache,aches,aching,tight,tightness,tighter,pressure,"
    "crushing,squeezing,heavy,heaviness,killing,burning,sharp,stabbing,dolor,dolores,duele,duelen,"
    "doliendo,aprieta,apretado,apretada,opresion,presion,punzada,ardor,weird pain",
    "HEART_ATTACK": "heart attack,infarto,ataque al corazon,ataque cardiaco,paro cardiaco,cardiac arrest",
    "BREATHE": "breathe,breathing,breath,breathes,breaths,breathed,breth,brethe,air,aire,respirar,respiro,"
    "respiracion,respira,a full breath,enough air",
    "DIFFICULTY": "trouble,hard,difficult,difficulty,struggling,struggle,barely,hardly,labored,problems,"
    "problem,cuesta,dificultad,hard time,trabajo para,hard to,can barely",
    "BREATH_WEAK": "out of breath,winded,sin aliento",
    "BREATH_EMERGENCY": "short of breath,shortness of breath,falta de aire,me falta el aire,"
    "me falta aire,me ahogo,ahogando,gasping,wheezing,choking,lips look blue,lips are blue,turning blue,"
    "lips blue,stopped breathing,dejo de respirar,sin aire,cant get air,me estoy ahogando,labios morados",
    "THROAT": "throat,garganta,tongue,lengua",
    "CLOSING": "closing,closing up,swelling,swollen,tight,cerrando,cerrandose,hinchada,hinchando,se cierra",
    "FAINT": "fainted,faint,fainting,faints,passed out,pass out,passing out,passes out,blacked out,"
    "black out,blacking out,unconscious,unresponsive,collapsed,collapse,collapsing,desmaye,desmayo,"
    "desmayado,desmayada,desmayando,desmayarme,desmayar,desmayos,inconsciente,perdi el conocimiento,"
    "perdio el conocimiento,lost consciousness,knocked out,no reacciona,se desvanecio",
    "RESPONSIVE": "responding,responsive,respond,responds,reacting,reacciona,responde,reaccionaba,respondia,"
    "despierta",
    "ANSWERING": "answering,answer,contesta,contestando",
    "SEIZURE": "seizure,seizures,seizing,seized,convulsing,convulsion,convulsions,convulsionando,"
    "convulsiones,convulsiono,convulsionar,ataque epileptico,epileptic fit,fitting,having a fit",
    "SHAKING": "shaking,shakes,jerking,twitching,temblando,sacudiendo,convulsing",
    "ALL_OVER": "all over,uncontrollably,non stop,nonstop,sin control,sin parar,todo el cuerpo",
    "STROKE": "stroke,strokes,derrame,derrame cerebral,embolia,ataque cerebral,accidente cerebrovascular",
    "FACE": "face,cara,boca,mouth,smile,sonrisa,rostro",
    "DROOP": "drooping,droopy,droop,droops,drooped,sagging,saggy,crooked,uneven,lopsided,caida,caido,"
    "chueca,chueco,torcida,torcido,colgando",
    "SPEECH": "speech,words,talking,speaking,talk,speak,voice,habla,hablar,hablo,palabras,hablando",
    "SLUR": "slurred,slurring,slur,slurry,garbled,arrastrando,arrastro,trabada,trabo,enredada",
    "SIDE": "side,lado,one side,un lado,half my body,half of my body,mitad del cuerpo",
    "LR": "left,right,izquierdo,izquierda,derecho,derecha",
    "LIMB": "arm,arms,leg,legs,hand,hands,face,foot,feet,fingers,brazo,brazos,pierna,piernas,mano,manos,"
    "cara,pie,pies,dedos,side,lado,body,cuerpo",
    "WEAK": "weak,weakness,numb,numbness,limp,heavy,paralyzed,cant move,dead,debil,debilidad,entumido,"
    "entumida,adormecido,adormecida,dormido,dormida,durmio,paralizado,paralizada,no siento,no lo siento",
    "MOVE": "move,lift,raise,feel,use,mover,levantar,sentir,siento,mueve",
    "SPEAK_OK": "right,properly,normally,normal,straight,bien,clearly,claro",
    # Urgent symptoms -----------------------------------------------------------------------------
    "VOMIT": "vomit,vomits,vomiting,vomited,vomitting,vomitted,throwing up,throw up,threw up,thrown up,"
    "throwin up,throws up,puke,puking,puked,pukes,barf,barfing,barfed,vomitar,vomitando,vomitado,vomito,"
    "vomite,vomitos,devolviendo,deposiciones,heaving,dry heaving",
    "PERSIST": "keep,keeps,kept,still,constantly,nonstop,non stop,continuous,continuously,repeatedly,"
    "all night,all day,all morning,all afternoon,all evening,hours,for hours,since,every,again and again,"
    "over and over,will not stop,can not stop,not stopped,not stopping,has not stopped,have not stopped,"
    "not passed,has not passed,not gone,not go away,not going away,will not go away,not worn off,"
    "not wearing off,not wear off,not gone away,not getting better,not stop,can not stop,cant stop,"
    "todavia,sigo,sigue,siguen,aun,toda la noche,toda la tarde,todo el dia,toda la manana,horas,desde,"
    "sin parar,no paro de,no dejo de,no puedo dejar de,no para,no paran,no se me quita,no se me pasa,"
    "no se quita,no se pasa,no ha parado,no han parado,no se van,no se va,llevo,ya pasaron,it is been,"
    "its been,been hours,hours later,hours after,horas despues,for days,all weekend,still have not",
    "KEEP": "keep,hold,retener,mantener,retengo",
    "DOWN": "down,dentro",
    "RETAIN": "retengo,retener,retiene,aguanto nada",
    "HEADACHE": "headache,headaches,head ache,head aches,migraine,migraines,dolor de cabeza,jaqueca,"
    "migrana,migranas,hedache,headach",
    "HEAD": "head,cabeza,skull",
    "SEVERE": "severe,terrible,horrible,awful,worst,excruciating,unbearable,intense,extreme,really bad,"
    "so bad,very bad,bad,agonizing,splitting,pounding,throbbing,exploding,killing,blinding,insane,"
    "crazy,peor,fuerte,fuertisimo,insoportable,terrible,horrible,muchisimo,espantoso,tremendo,"
    "horrendo,explotar,worse,worst ever",
    "BP": "blood pressure,bp,b p,presion,presion arterial,tension,tension arterial,bloodpressure,"
    "blood preasure,blood presure",
    "VERY_HIGH": "really high,very high,super high,so high,too high,sky high,through the roof,way high,"
    "dangerously high,crazy high,por las nubes,muy alta,altisima,bien alta,elevadisima,super alta,"
    "demasiado alta,hypertensive crisis,crisis hipertensiva,off the charts,high as",
    "HIGH": "high,alta,elevated,elevada",
    "PSYCH": "hallucinating,hallucinate,hallucinations,hallucination,hallucinated,seeing things,"
    "hearing things,hearing voices,voices,confused,confusion,disoriented,disorientated,out of it,"
    "dissociating,dissociated,dissociation,tripping,delirious,paranoid,alucinando,alucinaciones,"
    "alucinacion,alucino,confundido,confundida,desorientado,desorientada,voces,viendo cosas,veo cosas,"
    "escuchando voces,oyendo voces,oigo voces,escucho voces,visuals,visions,not myself,k hole,"
    "detached from reality,not real,nothing feels real,perdido,perdida,seeing stuff",
    "SEE": "see,seeing,saw,seen,hear,hearing,heard,veo,viendo,ver,vi,oigo,escucho,oyendo,escuchando",
    "THINGS": "things,stuff,cosas,people,bugs,gente,personas,shadows,sombras,voices,voces",
    "UNREAL": "not there,are not there,is not there,no estan,no existen,not real,no son reales,no hay nadie",
    "KNOW": "know,se,sabe",
    "WHERE": "where,donde",
    "MOVING": "moving,melting,breathing,crawling,se mueven,se mueve,moviendo,derritiendo,waving,bending",
    "WALLS": "walls,wall,ceiling,floor,paredes,pared,techo,piso",
    "FALL": "fell,fall,falls,fallen,falling,tripped,slipped,cai,me cai,took a fall,had a fall,"
    "have fallen,me resbale,me tropece,resbale,tropece",
    "FALL_SUBJ": "i,me,just,then,and,also,y,also,almost,nearly",
    "FALL_IDIOM": "asleep,behind,love,for,through,apart,short,dormido,dormida,bien,mal",
    "HIT": _en("hit", "bump", "bang", "smack", "strike") + ",struck,hit,pegue,golpee,golpe,golpeo,"
    "me pegue,me golpee,me di,cracked,slammed",
    "HEAD_INJURY": "head injury,head injuries,concussion,conmocion,golpe en la cabeza,golpe fuerte,"
    "hit my head,hit his head,hit her head,bumped my head",
    "CRASH": "crashed,crash,crashing,wrecked,wreck,totaled,totalled,collision,accident,accidents,"
    "accidente,choque,choco,chocamos,chocaron,me chocaron,fender bender,rear ended,rear end,"
    "rear ending,t boned,sideswiped,ran off the road,se volteo,volque",
    "VEHICLE": "car,cars,truck,vehicle,van,suv,carro,carros,coche,auto,camioneta,moto,motorcycle,road,"
    "highway,freeway,driving,drove,drive,drive home,manejando,manejar,maneje,conduciendo,conducir,"
    "on the way home,camino a casa,another car,otro carro,traffic,parking lot",
    "OBSTACLE": "pole,tree,wall,guardrail,mailbox,curb,deer,poste,arbol,pared,barda,telephone pole,"
    "light pole,a pole,a tree,a wall,someone,a car,another car,a pedestrian",
    "GOT_IN": "got in,got into,was in,been in,were in,tuve,tuvimos,estuve en,was involved in,had a car",
    "PEE": "pee,peeing,peed,urinate,urinating,urination,urine,orinar,orina,orino,hacer pipi,pipi,mear,"
    "wee,piss",
    "NOTHING_COMES": "nothing comes out,nothing comes,nothing came out,nothing happens,no sale nada,"
    "no sale,nothing is coming out,only drops,solo gotas",
}


@dataclass(frozen=True)
class Rule:
    """Concepts that must appear close together (in order unless `ordered` is False).

    `window` is the largest gap in tokens between consecutive parts (ordered; one number, or one per gap)
    or the span of all parts (unordered). `weak` rules are silenced by laughter ("lol", "jaja") in the same message; `blockers`
    are concepts that silence the rule when they follow it directly ("stroke of luck").
    """

    category: str
    parts: tuple[str, ...]
    window: int | tuple[int, ...] = 3
    ordered: bool = True
    weak: bool = False
    blockers: tuple[str, ...] = ()


def _r(category: str, parts: str, window: int | tuple[int, ...] = 3, **options: object) -> Rule:
    return Rule(category, tuple(parts.split()), window, **options)  # type: ignore[arg-type]


S, OD, HO, ME, US = "suicide", "overdose", "harm-others", "medical-emergency", "urgent-symptom"

RULES: tuple[Rule, ...] = (
    # Suicide and self-harm.
    _r(S, "SUICIDE", 1),
    _r(S, "SELFVERB MYSELF", 2),
    _r(S, "KILL YOURSELF", 1),
    _r(S, "SELFVERB_ES ME", 1),
    _r(S, "ME INTENT KILL_ES", 2),
    _r(S, "ME INTENT DIE", 2),
    _r(S, "HACER ME HARM_ES_1P", 1),
    _r(S, "INTENT DIE", 4),
    _r(S, "END MY LIFE", 2),
    _r(S, "END LIFE", 3),
    _r(S, "INTENT END LIFE_OBJ", 4),
    _r(S, "INTENT LIFE_OBJ END", (3, 2)),
    _r(S, "BETTER DIE", 3),
    _r(S, "WEAPON MYSELF", 12, ordered=False),
    _r(S, "NEG WANT LIVE", 4),
    _r(S, "NEG BE_HERE", 6),
    _r(S, "DOUBT BE_HERE", 6),
    _r(S, "DOUBT CAN GO_ON", 4),
    _r(S, "CANT GO_ON", 2),
    _r(S, "CANT DO_TAKE THIS_IT MORE", 2),
    _r(S, "NEG AGUANTO MORE", 2),
    _r(S, "NEG AGUANTO EOC", 2),
    _r(S, "CANT MORE EOC", 1),
    _r(S, "NEG POINT LIVE", 4),
    _r(S, "NEG WORTH LIVE", 4),
    _r(S, "LIVE NEG WORTH", 3),
    _r(S, "TIRED LIVE", 3),
    _r(S, "INTENT OUT LIFE", 4),
    _r(S, "BETTER WITHOUT ME_OBJ", 3),
    _r(S, "SELF_BE BURDEN", 3),
    _r(S, "INTENT DISAPPEAR", 3),
    _r(S, "SAY GOODBYE", 3),
    _r(S, "SAID_GOODBYE", 1),
    _r(S, "SAY MY NOTE", 1),
    _r(S, "SAY NOTE EVERYONE", 3),
    _r(S, "HAVE PLAN EOC", 2),
    _r(S, "HAVE PLAN FALL_SUBJ", 2),
    _r(S, "GIVE_AWAY MY", 2),
    _r(S, "JUMP HIGH_PLACE", 4),
    _r(S, "ACQUIRE ROPE", 3),
    _r(S, "SAVED PILLS", 4, ordered=False),
    _r(S, "CUTTING AGAIN", 2),
    _r(S, "SELFVERB MY BODYPART", 2),
    _r(S, "CUT_ES BODYPART", 3),
    _r(S, "ME CUT_ES AGAIN", 3),
    _r(S, "ME CUT_ES EOC", 1),
    _r(S, "SLEEP_WISH NEG WAKE", 8),
    _r(S, "WANT NEG WAKE", 8),
    # Overdose and poisoning.
    _r(OD, "OVERDOSE", 1, weak=True),
    _r(OD, "TAKE_PAST Q PILLS", 4),
    _r(OD, "TAKE_PAST Q CONTAINER", 4),
    _r(OD, "TAKE_PAST TOO_MUCH", 3),
    _r(OD, "TAKE_PAST BIGNUM PILLS", 4),
    _r(OD, "TAKE_PAST BIGNUM OF", 3),
    _r(OD, "TAKE_PAST NUM INSTEAD_OF NUM", 6),
    _r(OD, "TAKE_PAST CONTAINER OF", 3),
    _r(OD, "SWALLOW PILLS", 4, ordered=False),
    _r(OD, "GOT_INTO PILLS", 3),
    _r(OD, "OTHER TAKE3 MY PILLS", 3),
    _r(OD, "INGEST POISON", 5, ordered=False),
    _r(OD, "POISONED_SELF", 1),
    _r(OD, "MIX PILLS ALCOHOL", 8, ordered=False),
    _r(OD, "TAKE_PAST PILLS ALCOHOL", 8, ordered=False),
    _r(OD, "OVERDID PILLS", 4),
    _r(OD, "TOO_MUCH PILLS", 3),
    _r(OD, "TAKE_PAST MORE_THAN SUPPOSED", (3, 5)),
    # Harm to others.
    _r(HO, "INTENT_HARM HARM_VERB OTHER", (6, 3), blockers=("TEXTMSG",)),
    _r(HO, "OTHER_CLITIC HARM_ES_1P", 4),
    _r(HO, "HARM_ES_1P OTHER_CLITIC", 1),
    _r(HO, "INTENT_HARM RUN OTHER OVER", 4),
    _r(HO, "WEAPON THREAT", 12, ordered=False),
    _r(HO, "HOMICIDAL", 1),
    _r(HO, "HIT OTHER", 2, blockers=("TEXTMSG",)),
    # Medical emergencies.
    _r(ME, "CHEST PAIN", 5, ordered=False),
    _r(ME, "HEART PAIN", 4, ordered=False),
    _r(ME, "HEART_ATTACK", 1, weak=True),
    _r(ME, "CANT BREATHE", 3),
    _r(ME, "DIFFICULTY BREATHE", 3, ordered=False),
    _r(ME, "BREATH_WEAK", 1, weak=True),
    _r(ME, "NEG BREATHE", 1),
    _r(ME, "BREATH_EMERGENCY", 1),
    _r(ME, "THROAT CLOSING", 4, ordered=False),
    _r(ME, "FAINT", 1, weak=True),
    _r(ME, "NEG RESPONSIVE", 2),
    _r(ME, "NEG ANSWERING ME_OBJ", 2),
    _r(ME, "OTHER NEG WAKE", 4),
    _r(ME, "CANT WAKE OTHER", 3),
    _r(ME, "SEIZURE", 1),
    _r(ME, "SHAKING ALL_OVER", 2),
    _r(ME, "STROKE", 1, blockers=("OF",)),
    _r(ME, "FACE DROOP", 4, ordered=False),
    _r(ME, "SPEECH SLUR", 4, ordered=False),
    _r(ME, "CANT SPEECH SPEAK_OK", 2),
    _r(ME, "SIDE WEAK", 5, ordered=False),
    _r(ME, "LR LIMB WEAK", 5, ordered=False),
    _r(ME, "CANT MOVE LIMB", 4),
    # Urgent symptoms after a session.
    _r(US, "PERSIST VOMIT", 6, ordered=False),
    _r(US, "VOMIT VOMIT", 2),
    _r(US, "CANT KEEP DOWN", 4),
    _r(US, "NEG RETAIN", 1),
    _r(US, "EVERY_THING VOMIT", 5),
    _r(US, "SEVERE HEADACHE", 5, ordered=False),
    _r(US, "SEVERE HEAD", 4, ordered=False),
    _r(US, "PERSIST HEADACHE", 5, ordered=False),
    _r(US, "BP VERY_HIGH", 4, ordered=False),
    _r(US, "BP HIGH", 3),
    _r(US, "BP SYS_HIGH", 4),
    _r(US, "BP_READING", 1),
    _r(US, "PERSIST PSYCH", 7, ordered=False),
    _r(US, "SEE THINGS UNREAL", 3),
    _r(US, "PSYCH UNREAL", 3),
    _r(US, "NEG KNOW WHERE IAM", 3),
    _r(US, "MOVING WALLS", 4, ordered=False),
    _r(US, "FALL_SUBJ FALL", 2, blockers=("FALL_IDIOM",)),
    _r(US, "EOC FALL", 1, blockers=("FALL_IDIOM",)),
    _r(US, "HIT HEAD", 4),
    _r(US, "HEAD_INJURY", 1),
    _r(US, "CRASH VEHICLE", 5, ordered=False),
    _r(US, "HIT OBSTACLE", 2),
    _r(US, "GOT_IN CRASH", 3),
    _r(US, "CRASH_ALONE", 1),
    _r(US, "CANT PEE", 3),
    _r(US, "DIFFICULTY PEE", 3),
    _r(US, "PAIN PEE", 3, ordered=False),
    _r(US, "PEE NOTHING_COMES", 6, ordered=False),
    _r(US, "NEG PEE", 1),
)

# Concepts whose meaning a following word cancels: "dying to see you", "die of embarrassment",
# "me muero de risa", "took 20 mg".
IDIOM_NEXT: dict[str, frozenset[str]] = {
    "DIE": frozenset({"of", "for", "de", "por", "laughing", "laughin"}),
    "BIGNUM": frozenset(
        {
            "mg",
            "mgs",
            "ml",
            "mcg",
            "milligrams",
            "minutes",
            "min",
            "mins",
            "hours",
            "hrs",
            "am",
            "pm",
            "years",
            "yrs",
            "days",
            "percent",
            "units",
            "miles",
            "lbs",
            "pounds",
            "dollars",
            "bucks",
            "minutos",
            "horas",
            "anos",
            "dias",
            "kg",
            "kilos",
            "grams",
            "g",
            "gramos",
        }
    ),
}

# The same for single words: "dying to see you" (but "i want to die to be honest" still counts).
IDIOM_NEXT_WORD: dict[str, frozenset[str]] = {
    "dying": frozenset({"to"}),
    "dyin": frozenset({"to"}),
}

# Misspellings are matched to these words (edit distance 1, tokens of six letters or more). They are
# long and unlike everyday words, so a near miss of one of them is almost surely that word.
FUZZY_TARGETS = (
    "suicide,suicidal,suicidio,suicidarme,overdose,overdosed,overdosing,sobredosis,seizure,seizures,"
    "convulsion,convulsiones,breathe,breathing,unconscious,unresponsive,fainted,fainting,hallucinating,"
    "hallucinations,hallucination,headache,migraine,vomiting,vomited,pastillas,medicine,medication,"
    "medications,tablets,myself,swallowed,strangle,poisoned,urinate,desmaye,desmayo,respirar,confused,"
    "dissociating,accident,accidente,disappear,goodbye,goodbyes,burden,drooping,slurred,numbness,"
    "throwing,hurting,killing,matarme,morirme,suicidas,stabbing,shooting,antifreeze,bleach,klonopin,"
    "trazodone,sertraline,tylenol,benadryl,ibuprofen,aspirin,xanax,lithium,oxycodone,collapsed,"
    "pressure,presion,vomitando,vomitar,alucinando,alucinaciones,confundida,confundido,cabeza,"
    "everyone,neighbor,husband,boyfriend,girlfriend,daughter,sleeping,stockpiling,hoarding,saving,"
    "unalive,homicidal,chest,breath,living,forever,anymore,crashed,concussion,passed,blacked,"
    "tightness,pounding,unbearable,excruciating,terrible,horrible,worst,severe,drowsy,strangling"
)

# Everyday words one edit away from a fuzzy target: never corrected ("saving" is not "having").
NOT_MISSPELLINGS = _word_set(
    "having,shaving,raving,paving,waving,caving,giving,moving,loving,diving,hiving,living,leaving,"
    "cheat,cheats,chess,cheese,breach,breaths,bread,broad,beach,preach,worse,worth,worst,wrist,"
    "killin,filling,willing,milling,billing,rolling,killed,hunting,hurling,burning,turning,throwing,"
    "growing,knowing,blowing,flowing,glowing,showing,rowing,towing,mowing,sowing,stowing,crashes,"
    "passes,passer,posted,pasted,lasted,tasted,wasted,basted,bashed,blasted,blanked,blocked,flashed,"
    "presses,prison,poison,persian,everyones,neighbors,husbands,tablet,sleepy,sleeping,leaping,"
    "severed,several,sever,seven,seventh,forever,fervor,liven,livid,lived,lives,burdens,border,"
    "confuse,confused,confines,medicina,medicines,medical,medicated,mediation,meditation,"
    "hurling,hurtling,shooting,shouting,scooting,stabbing,stubbing,slurped,slurred,saying,staying,"
    "swallow,swallows,anymore,anyone,passed,passes,massed,chests,horrible,terrible,terribly"
)
