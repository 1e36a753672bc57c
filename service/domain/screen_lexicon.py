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
    "he'll": "he will",
    "she'll": "she will",
    "they'll": "they will",
    "we'll": "we will",
    "you'll": "you will",
    "it'll": "it will",
    "he'd": "he would",
    "she'd": "she would",
    "oded": "overdosed",
    "od'ed": "overdosed",
    "odd'd": "overdosed",
    "oding": "overdosing",
    "od'ing": "overdosing",
    "odeing": "overdosing",
    "wasn't": "was not",
    "weren't": "were not",
    "wnt": "want",
    "wnat": "want",
    "wnna": "want to",
    "tooka": "took a",
    "outta": "out of",
    "bout": "about",
    "chst": "chest",
    "chset": "chest",
    "kiero": "quiero",
    "qiero": "quiero",
    "kero": "quiero",
    "x": "por",
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
    "LAUGH": "just kidding,just joking,kidding,joking,es broma,era broma,es una broma,solo bromeo,estoy bromeando,bromeando,jajaja es broma,jkjk,in a good way,en el buen sentido,in the best way,super cool,so cool,que padre,que chido,laughed,laughing,laugh,laughs,laughter,cracking up,dying laughing,riendo,risa,carcajada,carcajadas,me rei,lol,lmao,lmfao,rofl,haha,hahaha,hehe,jaja,jajaja,jajajaja,jeje,jk,xd,lool,lolol",
    "PAST": "before i was born,antes de que yo naciera,antes de que naciera,cuando yo era nino,cuando yo era nina,cuando yo era joven,cuando yo era chico,cuando yo era chica,when i was little,when i was younger,last week,la semana pasada,when i was a teen,when i was a teenager,as a teen,in my teens,de joven,cuando era joven,cuando era adolescente,cuando era nino,cuando era nina,as a teenager,de adolescente,in my twenties,back in the day,in the past,en el pasado,long ago,a long time ago,hace tiempo,hace anos,was hospitalized,estuve hospitalizado,estuve hospitalizada,history of,historial de,family history,antecedentes,for the form,para el formulario,years ago,year ago,months ago,month ago,last year,last month,as a kid,as a child,"
    "when i was a kid,when i was little,when i was young,in high school,in college,hace anos,hace meses,"
    "hace mucho,hace mucho tiempo,el ano pasado,de nino,de nina,de chico,de chica,de pequeno,de pequena",
    "ROUTINE": "de hoy,for today,del dia,todays,de la manana,de la noche,daily,diarias,diarios,as usual,como de costumbre,per usual,same as always,my usual,as prescribed,as directed,as usual,like usual,like always,as always,like you said,"
    "como siempre,como me indicaron,como me dijeron,como indicado,every night,every morning,every day",
    "ME": "me",
    "MYSELF": "myself,my self,my own self,meself,mi mismo,mi misma,a mi mismo,a mi misma",
    "YOURSELF": "yourself,urself",
    "MY": "my,mi,mis,all my,my own",
    "SELF_BE": "no soy mas que,solo soy,nada mas soy,i am nothing but,nothing but,just a,i am just a,such a,i am such a,soy un,soy una,am,soy,feel like,siento que soy,just",
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
    "OF": "del,of,de",
    "INSTEAD_OF": "instead of,en vez de,en lugar de",
    "DOUBT": "not sure,do not know if,not know if,do not think,do not know how much longer,unsure,"
    "no se si,no creo,no estoy seguro,no estoy segura,doubt",
    # Self-harm and suicide ----------------------------------------------------------------------
    "SUICIDE": "suicide,suicidal,suicidality,suicidio,suicida,suicidas,suicidarme,suicidarse,suicidar,"
    "suicidandome,end it all,ending it all,self harm,self harming,self harmed,autolesion,autolesiones,"
    "autolesionarme,kill myself,kill my self,unalive myself,off myself,sleep forever,dormir para siempre,"
    "noose,carta de despedida,suicide note,goodbye note,goodbye letter,goodbye letters,"
    "end of my rope",
    "KILL": _en("kill", "murder") + ",unalive,unalived,unaliving,unalives,kil,kiling",
    "SELFVERB": "biting,bit,bite,bitten,pinching,hitting,punching,banging,carve,carved,carving,carves,slice,sliced,slicing,scratch,scratched,scratching,gouge,gouged,punched,bled,"
    + _en("kill", "hurt", "harm", "cut", "burn", "hang", "shoot", "stab", "drown", "starve", "slit")
    + ",hurt,cut,shot,hung,unalive,unaliving,unalived,kil",
    "SELFVERB_ES": "matar,lastimar,cortar,herir,ahorcar,colgar,quemar,envenenar,tirar,aventar,lanzar,"
    "suicidar,matando,lastimando,cortando,quitar,disparar,pegar",
    "KILL_ES": "matar,mato,mate,matare,mataria,matando",
    "DIE": "dye,dyeing,me muriera,muriera,me muera,die,dies,died,dying,dyin,dead,death,morir,morirme,muerto,muerta,muerte,morirse,muera,"
    "muriendo,muero",
    "WANT": "should,deberia," + _en("want", "wish") + ",wanted,quiero,quisiera,queria,deseo",
    "INTENT": "pensar,pensar en,deserves,deserved,merece,se merece,la decision de,tome la decision de,ya tome la decision de,thinking about,thought about,thinking of,should,should just,deberia,might as well,better just,picture,picturing,imagine,imagining,"
    + _en("want", "wish", "plan", "hope", "urge", "think", "consider", "contemplate", "fantasize")
    + ",ready,going to,about to,feel like,feels like,felt like,would rather,rather,thought,thoughts,"
    "tempted,decided,deserve,ideation,quiero,quisiera,queria,ganas,pienso,pensando,pensamientos,pensado,"
    "planeo,planeando,voy a,ojala,deseo,desearia,me dan ganas,tengo ganas,fantasies,keep thinking",
    "INTENT_HARM": "vamos a,we are going to,we will,images of,imagenes de,visions of,keep seeing myself,keep having thoughts of,sigo pensando en,no dejo de pensar en,keep thinking about,been thinking about,pensar,pensar en,thinking about,thought about,thinking of,picture,picturing,pictured,imagine,imagining,imagined,visualize,visualizing,me imagino,imaginando,me veo,see myself,intrusive thoughts,pensamientos intrusivos,keep imagining,keep picturing,should,deberia,will,might,may,could,scared,afraid,swear,miedo,going to,gonna,want,wanted,wanting,"
    "wish,plan,planning,think,thinking,thought,thoughts,urge,urges,feel like,ready,about to,quiero,"
    "quisiera,ganas,pienso,pensando,pensamientos,voy a,tengo ganas,me dan ganas,tempted,fantasize,"
    "fantasizing,keep thinking,decided",
    "VOY": "voy,vo,voy a",
    "HACER": "hacer,haciendo",
    "CRASH_ALONE": "me sali de la carretera,me sali del camino,me fui a la cuneta,derrape,me derrape,spun out,swerved into,went into a ditch,ended up in a ditch,landed in a ditch,clipped a car,clipped another car,rear ended,rear end,rear ending,t boned,sideswiped,ran off the road,fender bender,"
    "car accident,car crash,wrecked my car,totaled my car,crashed my car,crashed the car,accidente de carro,"
    "accidente de coche,accidente de auto,choque el carro,me chocaron",
    "FILLER": "really,honestly,just,even,literally,kinda,kind of,sorta,sort of,like,so,pretty,totally,actually,lowkey,highkey,ya,pues,neta,la neta,la verdad,bien,muy,very,super,basically,truly,simply,definitely,fr,deadass,o sea,como que,para ser honesto,para ser honesta,um,uh,umm,hmm,tipo,onestly,rly,realy,legit,to be honest,not going to lie",
    "END": "end,ends,ended,ending,take,taking,took,quitar,quitarme,acabar,terminar,terminar con,acabar con,"
    "termine,acabe,se acabe,se termine,be over",
    "LIFE": "suffering,misery,sufrimiento,existence,existencia,my suffering,my misery,life,own life,vida,mi vida,la vida,my life,this life",
    "LIFE_OBJ": "this,esto,it,things,everything,all,it all,todo,con todo",
    "LIVE": "sticking around,sticking around anymore,stay,stay here,stick around,keep going,waking up,wakin up,getting up,seguir,quedarme,levantarme,live,living,alive,keep living,go on living,stay alive,seguir viviendo,exist,existing,be here,be alive,be around,wake up,vivir,viviendo,vivo,viva,"
    "existir,estar aqui,estar vivo,estar viva,seguir aqui,despertar,life,vida,la vida,breathing anymore",
    "BE_HERE": "being here,being around,being alive,see christmas,see my birthday,see next year,make it to christmas,make it to my birthday,ver la navidad,llegar a navidad,be here,be around,be alive,be here anymore,be around anymore,siga aqui,seguir aqui,"
    "estar aqui,sigo aqui,be here much longer,be around much longer,estar vivo,estar viva",
    "POINT": "point,reason,sense,purpose,sentido,razon,caso,motivo",
    "WORTH": "worth,worth it,vale la pena,valga la pena,vale,worthwhile",
    "TIRED": "canse,me canse,ya me canse,cansa,me cansa,cansadisimo,cansadisima,hartos,tired,sick,done,fed up,exhausted,cansado,cansada,harto,harta",
    "BETTER": "descansarian,descansaran,would rest,could rest,estarian tranquilos,estarian en paz,be at peace,be relieved,lighter,calmer,more peaceful,mas ligero,mas ligera,mas livianas,mas facil,mas faciles,happier,easier,mas felices,mas facil,mas tranquilos,mas tranquilas,relieved,aliviados,better,better off,mejor,mejores",
    "WITHOUT": "without,sin",
    "ME_OBJ": "me,mi",
    "BURDEN": ",problem,bother,molestia,problema,a problem,un problema,a bother,trouble for anyone,burden,carga,estorbo",
    "DISAPPEAR": _en("disappear", "vanish") + ",desaparecer,gone forever",
    "SAY": "deje,dejo,dejando,he dejado,les deje,le deje,"
    + _en("say", "write")
    + ",said,wrote,written,writing,saying,left,escribi,escribiendo,dije",
    "GOODBYE": "this is goodbye,esto es un adios,es un adios,es mi despedida,goodbye forever,adios para siempre,goodbye for good,goodbye,goodbyes,good bye,farewell,farewells,despedida,despedidas",
    "SAID_GOODBYE": "me despedi,despidiendome,me estoy despidiendo",
    "NOTE": "note,notes,letter,letters,carta,cartas",
    "EVERYONE": "parents,mom,dad,mama,papa,papas,padres,wife,husband,esposa,esposo,hijos,sister,brother,hermana,hermano,everyone,everybody,family,kids,todos,familia",
    "HAVE": "have,got,made,tengo,hice,have got",
    "PLAN": "plan,a plan,un plan",
    "GIVE_AWAY": "gave away,give away,giving away,given away,gave all,regale,regalando,regalado",
    "JUMP": "tirar,aventar,lanzar,throw myself,tirar me,aventar me,lanzar me,"
    + _en("jump")
    + ",leap,aventar,aventarme,tirarme,lanzarme,aventandome,tirandome",
    "HIGH_PLACE": "bridge,building,roof,rooftop,cliff,balcony,overpass,train,traffic,puente,edificio,techo,"
    "azotea,balcon,tren,in front of a train,in front of a car,in front of a bus,in front of a truck,"
    "into traffic,frente al tren,frente a un carro,delante del tren",
    "ROPE": "rope,noose,soga,cuerda",
    "ACQUIRE": "bought,buy,buying,got,have,ordered,tengo,compre,consegui",
    "SAVED": "counting,counted,contando,conte,junte,juntando,ya junte,lined up,lining up,juntadas,juntados,saved up,stocked up,stocking up,collecting,collected,acumulando,acumuladas,escondidas,saved,saving,stockpiled,stockpiling,stockpile,hoarding,hoarded,stashed,stashing,stash,"
    "guardadas,guardados,guardando,ahorrando,juntando,juntado,guarde",
    "CUTTING": "cutting,cuttin,burning myself",
    "CUT_ES": "corte,corto,cortando,cortar,cortado,queme,quemando",
    "BODYPART": "wrist,forearm,forearms,hips,hip,belly,chest,antebrazo,antebrazos,muslo,muslos,panza,abdomen,arm,arms,wrist,wrists,thigh,thighs,leg,legs,skin,stomach,brazo,brazos,muneca,munecas,"
    "pierna,piernas,piel",
    "GO_ON": "going on,carrying on,keep going on,keep doing this,keep doing it,do this life thing,keep doing this life thing,seguir con esto,seguir asi,con esta vida,con la vida,con mi vida,con todo esto,keep fighting,seguir luchando,keep trying,go on,keep going,keep living,hold on,make it,carry on,survive,seguir,seguir adelante,"
    "aguantar,seguir viviendo,continuar",
    "AGUANTO": "aguanto,soporto,puedo mas",
    "OUT": "out,out of",
    "SLEEP_WISH": "easier,better,mejor,rather,prefer,prefiero,would be nice,sleep,hope,wish,want,ojala,dormir,dormirme,pray",
    "WAKE": "despertara,despierte,despertarme,desperte,wakes,wake,wake up,waking,woke,wake up tomorrow,despertar,despierte,despertarme,amanecer",
    # Indirect suicidal language: no way out, farewells, preparations, looking up methods, means at hand.
    "WAY_OUT": "way out,salida,otra salida,other way out,escape,",
    "ONLY": "only,unica,the only,la unica,only one",
    "RESOLVE_DAY": "tonight is the night,today is the day,tonight's the night,tonight is the day,hoy es el dia,"
    "hoy es la noche,esta noche es la noche,"
    "go through with it,going through with it,went through with it,"
    "llego la hora,my time is up",
    "ALL_OF_IT": "it all,everything,all of it,todo,de todo,con todo,all this,life,vida,la vida,this world,este mundo,"
    "the world,existing,being alive,intentarlo",
    "FOREVER": "for good,forever,permanently,para siempre,de una vez por todas,once and for all,for ever,permanentemente,"
    "de una vez,for real this time",
    "STOP": "ir,ir me,irme,leave this world,dejar este mundo,be gone,stop,end,go away,be over,pare,termine,acabe,se acabe,se termine,cease,stops,ends,desaparezca,"
    "se vaya,",
    "NOBODY": "nobody,no one,noone,no body,nadie,a nadie,not a single person,no one at all",
    "GONE": "ya no estar,dejar de estar,no estar aqui,no existir,dejar de existir,stop existing,si ya no estoy,ya no estoy,si no estoy,si ya no estuviera,cuando ya no este,i was gone,i were gone,i am gone,i was not here,i were not here,i was not around,i were not around,"
    "i was not alive,i did not exist,i never existed,yo no estuviera,"
    "no estuviera,me muriera,yo muriera,desapareciera,no existiera,i am not here,"
    "i am not around,i left for good,"
    "me matara,ya no estuviera,yo faltara,falto yo,"
    "i was out of the picture,i were out of the picture,i was not alive anymore,"
    "i am not here anymore,i am no longer here,ya no este,",
    "NEVER_BORN": "never been born,never born,no haber nacido,nunca hubiera nacido,nunca haber nacido,"
    "not been born,was never born,hubiera nacido",
    "HATE": "hate,hating,despise,odio,detesto,cant stand,can not stand,no soporto",
    "ALIVE": "alive,being alive,existing,exist,my life,mi vida,estar vivo,estar viva,vivir,existir,my existence,"
    "mi existencia,being here,",
    "SHOULD": "should,deberia,ought to,deserve to",
    "WHAT_POINT": "what is the point,whats the point,what's the point,para que,de que sirve,why bother,why even try,"
    "why keep,why go on,por que seguir,para que seguir,para que vivir,why live,why am i alive,why am i still here",
    "POINTLESS": "pointless,meaningless,sin sentido,no tiene sentido,hopeless,sin esperanza,sin caso,no tiene caso,"
    "empty,vacia,vacio,worthless,no vale nada",
    "GIVE_UP": "give up,giving up,gave up,given up,me rindo,rendirme,me doy por vencido,me doy por vencida,"
    "tirar la toalla,throw in the towel,ready to quit,quit on",
    "NOTHING_LEFT": "nothing left for me,nothing to live for,nothing left to live for,nada por que vivir,"
    "nada por lo que vivir,nada para vivir,no reason to live,no reason to be here,no tengo por que vivir,"
    "no tengo razon para vivir,no tengo motivo para vivir,no hay razon para vivir,nothing left here for me",
    "YA": "ya",
    "RESEARCH": "checked,checking,checked out,revise,revisando,googled,googling,google,googles,looked up,looking up,look up,looks up,searched,searching,search,"
    "researched,researching,research,reading about,read about,read up on,reading up on,busque,buscando,buscar,"
    "investigando,investigue,investigar,lei sobre,leyendo sobre,asked chatgpt,asked google,checking online,"
    "looked online,looking online,en internet,online",
    "METHOD": "painless way,painless ways,painless death,painless method,least painful way,painlessly,ways to die,way to die,ways to go,way to go,formas de morir,"
    "maneras de morir,como morir,forma de morir,lethal dose,dosis letal,"
    "fatal dose,easiest way to die,quickest way to die,least painful,"
    "how many it would take,how many would it take,how much it would take,how many it takes,how much it takes,"
    "cuantas se necesitan,cuantas pastillas se necesitan,cuantas necesito,cuanto se necesita,how long it takes to die,"
    "how long does it take to die,how to hang,how many pills,how many tylenol,"
    "cuantas pastillas,overdose amount,lethal amount,cantidad letal,what would kill,what will kill me,"
    "suicide methods,tall enough,altura suficiente,duele morir,"
    "most painless",
    "GUN": "gun,guns,pistol,rifle,shotgun,firearm,pistola,escopeta,arma,revolver,glock,handgun",
    "AT_HAND": "loaded,cargada,cargado,cargue,in my lap,in my hand,in my hands,holding,sosteniendo,en la mano,"
    "en mi mano,en las manos,pointed at,to my head,in my mouth,apuntando,a mi cabeza,en la cabeza,next to me,"
    "sitting here with,aqui conmigo,junto a mi,on my nightstand,on the table,on my lap,cocked,safety off,"
    "loading,cargando,staring at,mirando",
    "LEDGE": "bridge,roof,rooftop,ledge,cliff,overpass,puente,azotea,cornisa,borde,the tracks,train tracks,"
    "las vias,vias del tren,top floor,parking garage,precipicio,barranco,acantilado",
    "AT_ON": "stood on,stood at,stood at the edge of,was standing on,been standing on,estuve parado en,estuve parada en,me pare en,me subi a,me subi al,fui al,went up to,went to the top of,at,on,standing on,sitting on,en,on top of,arriba de,arriba del,al borde,on the edge of,edge of,"
    "parado en,parada en,sentado en,sentada en,up on,standing at,near,cerca del,here at,on the side of",
    "REHOME": "put up for adoption,up for adoption,gave up for adoption,en adopcion,dar en adopcion,di en adopcion,surrendered,surrender,rehomed,rehoming,rehome,re homed,re homing,new home for,a new home for,found a home for,"
    "found homes for,le encontre casa,le busque casa,un hogar para,nuevo hogar,nueva casa para,le encontre hogar,"
    "adopt out,cuiden a mi,cuiden de mi,take care of my,look after my,regale a mi,di en adopcion,"
    "",
    "PET": "dog,cat,pet,pets,perro,perra,gato,gata,mascota,mascotas,puppy,kitten,perrito,perrita,gatito,gatita,bird,"
    "dogs,cats,fish,hamster,bunny,conejo,pajaro",
    "VALUABLES": "dog,cat,perro,gato,all my,stuff,things,belongings,possessions,cosas,pertenencias,everything i own,all i own,"
    "todo lo que tengo,jewelry,joyas,guitar,collection,coleccion,car to,pet,pets,mascota",
    "PAPERS": "insurance papers,insurance policy,life insurance,my will,passwords,bank info,account info,bank accounts,"
    "papeles del seguro,seguro de vida,testamento,contrasenas,"
    "my funeral,mi funeral,obituary,pin numbers",
    "LEFT_OUT": "left,leave,leaving,put,laid out,on the table,on the desk,en la mesa,deje,dejando,dejo,sobre la mesa,"
    "organized,arranged,arreglado,arreglados,arreglada,ready,listo,listos,lista,listas,where to find,donde encontrar,"
    "written,wrote,made,hice,set up,in order,en orden,planned,planee,prepared,prepare",
    "AFFAIRS": "my affairs in order,affairs in order,put my affairs,getting my affairs,mis asuntos en orden,"
    "poniendo en orden mis asuntos,arreglando mis asuntos,tying up loose ends,atando cabos sueltos",
    "ARRANGED": "arreglado,todo arreglado,todo listo,my affairs in order,affairs in order,everything in order,"
    "put my affairs,everything is ready,everything ready,tengo todo listo,deje todo listo,deje todo arreglado,"
    "all set up,everything sorted,todo en orden,dejando todo en orden,getting my affairs,my affairs,mis asuntos",
    "WHEN_GONE": "cuando me vaya,when i am gone,when i go,after i am gone,for when i am gone,cuando ya no este,"
    "cuando me muera,after i die,when i die,once i am gone,cuando yo falte,when i am not here,when i am dead,"
    "para cuando me vaya,para cuando no este,for after,para despues",
    "LAST_INTRO": "this is my last,this will be my last,this is the last,my last ever,my final,esta es mi ultima,"
    "este es mi ultimo,sera mi ultimo,sera mi ultima,es mi ultimo,es mi ultima,my very last,mis ultimas,"
    "this is probably my last,probably my last,",
    "LAST_THING": "text,message,msg,night,day,words,goodbye,mensaje,noche,dia,texto,palabras,despedida,letter,"
    "carta,night alive,day alive,sunset,breath,texts,messages,mensajes",
    "SORRY_ALL": "sorry for everything,i am sorry for everything,perdon por todo,perdoname por todo,"
    "perdonenme por todo,perdonenme,lo siento por todo,forgive me for everything,"
    "sorry for being a burden,sorry for all of it,sorry for everything i put you through,lo siento mucho por todo,"
    "perdon por ser una carga,sorry for all the pain,i am sorry for all the pain",
    "BYE": "goodbye,bye,adios,farewell,good bye,bye bye,goodnight forever,so long,hasta nunca",
    "EVERYONE_ALL": "everyone,everybody,todos,a todos,world,cruel world,y'all,all of you,ustedes,familia,"
    "my family,forever,for good,para siempre,mundo,todo el mundo",
    "TELL": "tell,diganle,dile,digan,decirle,decirles",
    "LOVE": "love,loved,quiero,amo,it was not their fault,it is not their fault,no fue su culpa",
    "PLAN_VERB": "know,knew,figured,figured out,planned,decided,thought about,thinking about,pense,se,decidi,planee,"
    "tengo pensado,ya se,worked out,chose,chosen,picked,escogi,elegi,have it all planned,have it planned",
    "HOW": "how,como,when and how,where and how,cuando y como",
    "DO_IT": "i am going to do it,i will do it,i would do it,hacer lo,lo voy a hacer,lo hago,lo haria,"
    "voy a hacer lo,doing it,acabar con todo,",
    "BLADE": "razor,razors,blade,blades,razor blade,razor blades,knife,navaja,navajas,cuchilla,cuchillas,"
    "box cutter,exacto,xacto,scissors,tijeras,pencil sharpener,sacapuntas,vidrio,glass,broken glass,lighter,"
    "encendedor,cigarette,cigarro,cigarrillo,hot iron",
    "VISION_LOSS": "out of one eye,in one eye,de un ojo,del ojo izquierdo,del ojo derecho,lost vision,lost my vision,"
    "went blind,perdi la vista,sudden blindness,can not see anything,no veo nada,vision went dark,vision went black,"
    "se me nublo la vista,curtain over my eye,cortina en el ojo",
    "CO_DETECTOR": "detector,detectors,alarm,alarma,leak,fuga,poisoning awareness",
    "CO_POISON": "carbon monoxide,monoxido de carbono,car running in the garage,car is running in the garage,"
    "running the car in the garage,exhaust in the car,hose from the exhaust,manguera del escape,gas on,"
    "gas is on,stove gas,charcoal in the room,carbon en el cuarto",
    "SEE_YOU": "see you,see ya,nos vemos,hasta luego,hasta pronto,next week,la proxima,tomorrow,manana,"
    "have a good,que tengan,thanks,gracias,tuesday,monday,wednesday,thursday,friday,saturday,sunday,weekend",
    "THIRD": "him,her,them,lo,le,les,he,she,they",
    "THAN": "than,de lo que,de las que,de los que,que",
    "NOT_WAKE": "of not waking up,about not waking up,of never waking up,about never waking up,en no despertar,de no despertar,to not wake up,to never wake up,para no despertar,and not wake up,never wake up again,never wake up,"
    "not wake up again,no volver a despertar,not to wake up,to not wake,sin despertar,y no despertar",
    "LACED": "laced,was in it,cut with,contaminated,adulterated,was fentanyl,had fentanyl,tenia fentanilo,fentanilo",
    "UNTIL_BLEED": "until they bleed,until it bleeds,until i bleed,until they bled,until it bled,until i bled,"
    "till it bleeds,till they bleed,till i bleed,till it bled,hasta sangrar,hasta que sangre,hasta que sangraron,"
    "hasta sacar me sangre,hasta sangrar me,until there is blood,hasta que sale sangre,until it bleed",
    "GIVE": "give,giving,gave,given,regalando,regale,regalado,donating,donated,donando,done",
    "AWAY": "away,a todos,to everyone,to friends",
    "MUCH_LONGER": "much longer,for much longer,for long,mucho tiempo mas,por mucho tiempo,mucho mas tiempo,"
    "after tonight,after today,despues de hoy,much more",
    "GUN_PURPOSE": "usarla conmigo,usarlo conmigo,usarla en mi,usarlo en mi,usarla contra mi,usarlo contra mi,usar la conmigo,usar lo conmigo,usar la en mi,usar lo en mi,usar la contra mi,using it on myself,used it on myself,turn it on myself,turning it on myself,point it at myself,usar la,usar lo,what it is for,what its for,para que es,para que la quiero,para que la compre,what i need it for,"
    "what i am going to do with it,lo que voy a hacer con ella,thinking about it,thought about it,"
    "thinking about using it,pensado en usar la,pensando en usar la,pensado en usarla,pensando en usarla,"
    "usar la contra mi,usarla contra mi,use it on myself,contra mi,on myself,at myself,en mi contra,"
    "been thinking about it",
    "HALLU": "bugs,bichos,spiders,aranas,snakes,culebras,shadows,sombras,faces,caras,insects,insectos,"
    "people who are not there,gente que no esta,colors,colores,patterns,visuals,visions,animales",
    "WITH_ME": "with me,conmigo,along with me",
    "CUT_OBJ": "hair,my,the,a,an,grass,bangs,back,down,it,some,class,ties,costs,out,off,up,in,nails,lawn,pelo,cabello,"
    "corners,ties with,carbs,sugar,him,her,them",
    "PARTICLE": "off,back,home,away,to school,at school,to the,to practice,to work,a la escuela,to daycare",
    "RAZOR": "razor,razors,blade,blades,razor blade,razor blades,navaja,navajas,cuchilla,cuchillas,box cutter",
    "HANG_ES": "ahorcar,colgar,envenenar,suicidar,matar,disparar,pegar un tiro,aventar,tirar,lanzar,cortar las venas",
    "CUTS_N": "cuts,cortadas,cortaditas,cortes,heridas,rasgunos,scratches,scars,burns,quemaduras,marks,"
    "wounds,gashes,lines",
    "CUT_V": "cut,cutting,cuttin,carved,carving,burned,burnt,burning,self harmed,self harming,sh,sh'd,relapsed",
    "SUBJ_I": "i,yo",
    "ON_PURPOSE": "on purpose,a proposito,adrede,intentionally,deliberately,purposely,purposefully,a drede,"
    "para sentir algo,to feel something,to punish myself,para castigarme",
    "HURT_ANY": "hurt,cut,burned,bled,bleed,punched,hit,lastime,corte,queme,golpee,pegue,sangre,starved,scratched,"
    "banged,slammed,lastimo,corto,quemo,golpeo",
    "HURT_ES_PAST": "pego,golpeo,rasguno,muerdo,mordi,pegue,rasgune,rasgunaba,arano,arane,lastime,lastimo,corte,corto,queme,quemo,hice dano,rasgune,raspe,rasguno,he cortado,he lastimado,"
    "he quemado,estoy cortando,estoy lastimando,estoy quemando,hice cortadas,hice heridas,marque",
    "DRIVE_INTO": "drive off,driving off,drive my car off,drive the car off,off the road,into a tree,into a wall,into oncoming traffic,into traffic,"
    "into a pole,crash my car,crashing my car,crash the car,crashing the car,wreck my car,wrecking my car,"
    "contra un arbol,contra un poste,contra una pared,contra un muro,estrellar me,estrellar el carro,"
    "off a cliff,into the river,into the lake,into a semi,into a truck,",
    "TAKE_ANY": "take,taking,tomar,tomar me,tragar,tragar me,swallow,swallowing,chug,ingerir",
    "FOOD": "vitamins,vitaminas,supplements,suplementos,probiotics,probioticos,fish oil,multivitamin,multivitaminico,multivitaminas,omega,water,agua,jugo,juice,coffee,cafe,soup,sopa,food,comida,breakfast,desayuno,lunch,dinner,cena,pizza,"
    "tea,te,leche,milk,beer,cerveza,espresso,shot,coke,soda,refresco,snack,cake,pastel,cookies,galletas,fries,"
    "advice,notes,class,test,exam,day,days,week,nap,walk,bath,shower,break,photo,photos,picture,pictures,chance,"
    "time,rest,weekend,hint,turn,turns,stairs,elevator,bus,train,uber,road",
    "YOU_OBJ": "you,your,u,ur,to heart,personally,seriously,literally,back,home,with me,off,out,away,in stride,"
    "into account,apart",
    "PRONOUN_Q": "all of them,all of it,todas,todos,them all,em all,every one of them,every last one,every single one,"
    "the lot,everything,the rest,the rest of them,the rest of it,what was left,whatever was left,what i had,"
    "lo que quedaba,lo que tenia,lo que habia,todo lo que habia,todo lo que tenia,everything i had,"
    "all that was left,las que quedaban,the whole thing,the whole lot",
    "MANY_Q": "un monton,a ton,a bunch,a lot,a handful,muchas,muchisimas,bastantes,way too many,a bunch of them,"
    "lots,so many,tons,like a hundred,a whole bunch,un chingo,un buen,varias",
    "DOUBLE": "double,triple,twice,twice as much,el doble,el triple,x2,x3,quadruple,",
    "KID": "years old,toddler,bebe,mi nino,mi nina,my little one,my son,my daughter,newborn,newborns,recien nacido,recien nacida,infant,bebito,bebita,my baby,mi bebe,son,daughter,kid,kids,toddler,baby,child,children,nino,nina,ninos,hijo,hija,bebe,nieto,nieta,grandson,"
    "granddaughter,little one,niece,nephew,sobrino,sobrina,3 year old,2 year old,grandkid,grandkids,nietos,"
    "toddlers,babies,bebes,kiddo,teen,teenager,hijos,hijas",
    "LEFT_PILLS": "left out,on the counter,on the table,en la mesa,que deje,i left,lying around,sobre la mesa,"
    "from my purse,de mi bolsa,in the cabinet,del botiquin,from the cabinet",
    "Q_AFTER": "toditas,toditos,todas juntas,all at once,de una,entero,entera,enteros,enteras,completo,completa,todas,todos,all of them,every one,de golpe,",
    # Overdose and poisoning ---------------------------------------------------------------------
    "OVERDOSE": "empastillo,empastillaron,empastille,me empastille,empastillada,empastillado,empastillarme,empastillar,oded,oding,odeing,sobredosifique,sobredosificar,sobredosificado,sobredosificada,me sobredosifique,am odin,sobre dosis,overdose,overdosed,overdosing,overdoses,od,over dose,over dosed,sobredosis,odeado,odie",
    "TAKE_PAST": "me acabo de tomar,acabo de tomar,me acabe de tomar,just took,,me eche,eche,se echo,snorted,sniffed,inhaled,huffed,shot up,used,se tomo,se trago,se comio,me las tome,me los tome,me las trague,me los trague,las tome,los tome,took,taken,taking,swallowed,swallow,ate,eaten,popped,downed,chugged,gulped,ingested,"
    "tome,me tome,trague,me trague,tragado,tomado,me he tomado,bebi,consumi,injected",
    "SWALLOW": "swallowed,downed,chugged,gulped,trague,me trague,tragado,tragandome",
    "TAKE3": "ate,eaten,swallowed,chewed,drank,got in,se las comio,se las tomo,se las trago,se metio unas,se comio unas,se tomo,se trago,se comio,took,swallowed,ate,got into,se metio",
    "GOT_INTO": "got into,got in to,gotten into,se metio en",
    "Q": "toditas,toditos,todito,todita,un puno,un puno de,puno,punado,palmful,a palmful,mouthful,the whole,a whole,todo el,toda la,el entero,completo,completa,all,all my,all of my,all of,all the,whole,entire,every,bunch,a bunch,handful,a handful,ton,a ton,tons,lots,a lot,lot,many,several,"
    "rest of,the rest of,double,triple,todas,todos,toda,todo,muchas,muchos,entero,entera,varias,varios,"
    "un monton,un punado,doble,triple,mas,more,fistful,extra,bunches,like a hundred",
    "TOO_MUCH": "too many,too much,way too many,way too much,demasiado,demasiadas,demasiados,de mas,"
    "more than i should,more than prescribed,mas de la cuenta,mas de lo que",
    "PILLS": "devices,device,spray devices,dispositivos,nasal spray,sprays,inhalers,puffs,heart pills,blood pressure pills,cough syrup,syrup,jarabe,jarabe para la tos,robitussin,dayquil,theraflu,pastis,chochos,medicine cabinet,botiquin,gummy,iron pills,muscle relaxers,relaxants,anxiety meds,sleep meds,antidepressants,antidepresivos,benzodiazepines,kpins,percs,norco,dilaudid,narcos,pill,pills,pils,pillz,tablet,tablets,tabs,meds,med,medication,medications,medicine,medicines,"
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
    "INGEST": "bit,bite,bit into,bit one open,chewed,chewing,licked,mordio,mastico,se trago,se comio,trago,comio,got into,se metio,put in his mouth,put in her mouth,se lo metio a la boca,swallowed one,ate one,chugged,downed,gulped,slammed,me eche,eche,se echo,consumed,inhaled,huffed,sniffed,snorted,drank,drink,drinking,drunk,swallowed,swallow,ate,eaten,took,taken,ingested,sipped,tome,"
    "tomo,se tomo,bebi,bebio,trague,se trago,me tome",
    "POISON": "pod,laundry pod,dishwasher pod,tide pod,capsula de detergente,dishwasher pods,dishwasher pod,tide pods,tide pod,detergent,laundry detergent,dishwasher detergent,bleach,cloro,clorox,batteries,battery,button battery,pilas,pila,detergente,jabon de trastes,suavizante,pastilla de lavavajillas,fabric softener,carbon monoxide,monoxido,monoxido de carbono,exhaust,exhaust fumes,under the sink,debajo del fregadero,liquido de limpieza,limpiador,productos de limpieza,quimico,quimicos,cleaning liquid,cleaning fluid,chemicals,chemical,gas,fumes,charcoal,windshield fluid,washer fluid,lighter fluid,paint thinner,turpentine,kerosene,rubbing alcohol,nail polish remover,hand sanitizer,peroxide,hydrogen peroxide,destapacanos,destapa canos,anticongelante,aguarras,thinner,fabuloso,pinol,acetona,liquido de frenos,raid,roach killer,bug spray,laundry pods,pods,dish soap,drano,liquid plumr,ant killer,mata cucarachas,matacucarachas,insecticide,herbicide,fertilizer,battery acid,acido,muriatico,bleach,antifreeze,poison,rat poison,cleaning,cleaning stuff,cleaning products,cleaner,"
    "detergent,tide pod,tide pods,lye,ammonia,pesticide,weed killer,drain cleaner,cloro,veneno,"
    "veneno para ratas,lejia,raticida,detergente,amoniaco,pesticida,insecticida,matarratas,clorox,"
    "windex,mouthwash,gasoline,gasolina",
    "POISONED_SELF": "poisoned himself,poisoned herself,poisoned themselves,se enveneno,se intoxico,se intoxicaron,me intoxique,intoxicarme,me estoy intoxicando,me intoxique con,me envenene con,envenenandome,poisoning myself on purpose,poisoned myself,poisoning myself,me envenene,envenenarme,me estoy envenenando",
    "MIX": "mixed,mixing,mix,combined,mezcle,mezclando,mezclar",
    "ALCOHOL": "shots,bottle of wine,fifth,handle,alcohol,wine,vodka,beer,beers,liquor,whiskey,whisky,tequila,booze,rum,gin,drinks,vino,"
    "cerveza,cervezas,trago,tragos,licor,together,juntas,juntos,on purpose",
    "MORE_THAN": "more than,way more than,mas de,mas de lo que,mas de las que,mas de los que",
    "SUPPOSED": "usual,normal,i usually do,normally,de costumbre,lo normal,lo usual,usually,recommended,supposed,should,prescribed,allowed,told,recommended,directed,debia,deberia,indicado,"
    "indicaron,recetado,recetaron,permitido",
    "OVERDID": "se me paso la mano,me pase de la raya,se le paso la mano,me excedi,me excedi con,me pase,me pase con,me pase de,overdid,overdid it",
    # Harm to others ------------------------------------------------------------------------------
    "HARM_VERB": "beat the shit out of,beat the crap out of,beat the hell out of,strangle,strangling,choke,run off the road,running off the road,ran off the road,meto un tiro,meter un tiro,balazo,un balazo,un tiro,romper la madre,partir la madre,madrear,golpear,ahorcar,lastimar,hacer dano,hacer le dano,wreck,wrecking,destroy,mess up,messing up,fuck up,beat down,jump,jumping,pop,smoke,cap,body,merk,merc,lay out,knock out,picar,pico,picare,filerear,navajear,madrear,madrearlo,kil,kill,shove,shoving,shoved,push,pushing,pushed,drop,dropping,dropped,throw,throwing,threw,empujar,empujando,aventar,tirar,sacudir,sacudiendo,lastimando,matando,golpeando,pegando,ahogando,asfixiando,apunalando,asesinar,asesino,asesinare,acuchillar,balacear,balear,pegar le un tiro,estrangular,ahorcar,atacar,slit,slitting,smash,bash,bashing,stomp,curb stomp,choke out,choking,maim,torture,torturing,pummel,drown,smothering,shake,shaking,"
    + _en(
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
    "HARM_ES_1P": "meto un tiro,meter un tiro,meto un balazo,meter un balazo,pego un tiro,pegar un tiro,doy un tiro,dar un tiro,doy un balazo,dar un balazo,meto un plomazo,dar en la madre,romper su madre,partir su madre,madrear,madreo,golpeo,ahorcar,ahorco,estrangulo,acuchillo,apunalo,pico,quemo,picar,pico,picare,filerear,navajear,madrear,romper la madre,partir la madre,romper la cara,partir la cara,romper el hocico,partir el hocico,asesinar,asesino,asesinare,acuchillar,balacear,balear,estrangular,atacar,apunalar,torturar,ahogar,romper le,partir le,matar,mato,mate,matare,lastimar,lastimo,lastime,lastimare,herir,hiero,golpear,golpeo,"
    "golpee,pegar,pego,pegue,quemar,quemo,queme,ahorcar,ahorco,apunalar,apunalo,disparar,disparo,"
    "envenenar,ahogar,dano,hacer dano",
    "OTHER": "dude,that dude,bro,homie,fool,that fool,cabron,ese cabron,wey,guey,he,she,they,the baby,my baby,la bebe,el bebe,al bebe,ella,ellos,stepdad,stepmom,stepson,stepdaughter,landlord,manager,classmate,classmates,teachers,students,customers,wife's,that guy,that man,that woman,that bitch,that bastard,my ex,mi ex,el tipo,ese wey,ese guey,him,her,them,his,someone,somebody,anyone,anybody,people,everyone,everybody,others,"
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
    "WEAPON": "bat,baseball bat,bate,hammer,martillo,crowbar,axe,hacha,blade,razor,gun's,rifle,glock,bullets,bullet,ammo,balas,escopeta,revolver,gun,guns,knife,knives,pistol,rifle,firearm,weapon,weapons,shotgun,pistola,cuchillo,arma,"
    "armas,navaja,machete",
    "THREAT": "know where he parks,know where she works,know where they live,se donde vive,se donde trabaja,know his schedule,know her schedule,se su horario,get what is coming,gets what is coming,got what is coming,get whats coming,get what he deserves,get what she deserves,se la va a pagar,se las va a pagar,know where he parks,know where she works,se donde vive,i know where he lives,i know where they live,se lo que hace,know his schedule,know her schedule,is going to pay,are going to pay,going to pay,will pay,me las va a pagar,me la va a pagar,me las van a pagar,va a pagar,van a pagar,know where he parks,know where she parks,know where he lives,know where she lives,se donde vive,se donde estaciona,will understand,will understand tomorrow,will see tomorrow,will find out,will learn,will be sorry,will know what,will regret,va a entender,van a entender,van a ver,va a ver,se van a enterar,se va a enterar,se donde trabaja,se donde trabajan,se donde estudia,know where he works,know where she works,know where they work,know where he is,desquitar me con,vengar me de,me voy a vengar,waiting for him,waiting for her,waiting for them,lo estoy esperando,la estoy esperando,"
    "los estoy esperando,when he gets home,when she gets home,cuando llegue a la casa,for him to get home,"
    "for her to get home,will not hurt anyone again,will not hurt me again,never hurt anyone again,is not going to hurt anyone,is not going to hurt me,have his address,have her address,have the address,tengo su direccion,what is coming,lo que se merece,what he deserves,what she deserves,what they deserve,never going to hurt me again,never hurt me again,not going to hurt me again,will not hurt me again,never going to hurt anyone again,regret it,regret this,going to regret,se va a arrepentir,se van a arrepentir,va a pagar,van a pagar,know where he lives,know where she lives,know where they live,se donde vive,se donde viven,no me va a volver a lastimar,nunca mas me va a lastimar,get what is coming,get what he deserves,get what she deserves,teach him a lesson,teach her a lesson,dar le una leccion,who it is for,who its for,who it's for,make them pay,make him pay,make her pay,pay for this,"
    "pay for what,revenge,venganza,para quien es,me las va a pagar,me la va a pagar,me las van a pagar",
    "HOMICIDAL": "homicidal,homicida,homicidas",
    "TEXTMSG": "texts,messages,msgs,reminders,reminder,emails,calls,mensajes,textos,recordatorios,the reminders,the texts,text,texts,message,email,msg,line,call,note,a text,a message,an email,a line,a call,a note,"
    "a quick text,a quick message",
    "HARM_STRONG": "mess him up,mess her up,mess them up,messing him up,fuck him up,fuck her up,fuck them up,wreck him,wreck her,wreck them,wreck that dude,wreck that guy,beat his ass,beat her ass,beat their ass,beat yo ass,whoop his ass,whoop her ass,whup his ass,romper la madre,partir la madre,una madriza,una putiza,una golpiza,dar le una madriza,dar le una putiza,put him in the hospital,put her in the hospital,put them in the hospital,putting him in the hospital,putting her in the hospital,putting them in the hospital,put him in the ground,put her in the ground,putting him in the ground,put him in a body bag,mandar lo al hospital,mandar la al hospital,lo mando al hospital,la mando al hospital,lo voy a mandar al hospital,take out everyone,take everyone out,taking out everyone,take out everybody,take them all out,acabar con todos,matar a todos,shoot the school,shoot up the school,shoot up my school,shoot up my work,break his legs,break her legs,break his arms,break her arms,break his jaw,break her jaw,break his nose,break her nose,break his knees,set his house on fire,set her house on fire,set their house on fire,set fire to,burn his house down,burn her house down,burn their house down,burn the house down,burn down his,burn down her,quemar le la casa,prender le fuego,incendiar,is getting stabbed,is getting shot,is going to get stabbed,is going to get shot,is going to get hurt,gets stabbed,gets shot,going to get what is coming,romper le las piernas,quebrar le las piernas,hacer pagar,beat the crap out of,beat the shit out of,beat the hell out of,beat the life out of,"
    "kick his ass,kick her ass,kick their ass,break his neck,break her neck,break his face,break her face,"
    "snap his neck,snap her neck,slit his throat,slit her throat,cut his throat,cut her throat,bash his head in,"
    "bash her head in,bash his face in,kill them all,kill all of them,go on a rampage,rampage,shooting spree,"
    "killing spree,mass shooting,bloodbath,blood bath,shoot up the,shoot the place up,shoot everyone,"
    "stab him,stab her,stab them,put my hands on her,put my hands on him,put hands on her,put hands on him,"
    "lay hands on her,lay hands on him,lay my hands on,end him,end her,end them,take him out,take her out,"
    "take them out,make him bleed,make her bleed,make them bleed,make him suffer,make her suffer,make them suffer,"
    "make him pay,make her pay,make them pay,romper la cara,romper le la cara,partir le la cara,partir la cara,"
    "partir le la madre,romper le la madre,partir le su madre,romper le el hocico,meter le un balazo,meter un balazo,"
    "pegar le un tiro,dar le un tiro,un balazo,unos balazos,un plomazo,hacer lo pagar,hacer la pagar,"
    "hacer los pagar,me las va a pagar,se va a arrepentir,le voy a dar en la madre,"
    "dar le en la madre,acabar con ella,acabar con ellos,quitar le la vida,matar lo,matar la,"
    "matar los,murder him,murder her,murder them,hurt him,hurt her,hurt them,hurt the baby,hurt my baby,"
    "hurt my kids,hurt my son,hurt my daughter,hurt the kids,shake the baby,smother the baby,drown the baby,"
    "strangle him,strangle her,choke him,choke her,shoot him,shoot her,shoot them,kill him,kill her,kill them",
    "BREAK": "break,snap,smash,crack,romper,partir,quebrar,romper le,partir le,quebrar le",
    "HIS": "his,her,their,su,sus,le,les,that guy's,his fucking,her fucking",
    "BODY": "legs,leg,arm,arms,neck,face,jaw,nose,skull,head,ribs,teeth,knees,kneecaps,fingers,hands,cara,piernas,"
    "brazos,cuello,nariz,dientes,cabeza,madre,hocico,rodillas,costillas,manos,dedos",
    "HE_SHE": "he,she,they,el,ella,ellos,se va a,se van a,va a,van a,that bitch,that bastard,",
    "REGRET": "regret,regrets,regretting,arrepentir,arrepentirse,arrepentira,arrepentiran,sorry,pay,pagar,"
    "wish he had never,wish she had never",
    "GO_AFTER": "going over there,go over there,went over there,heading over there,head over there,voy para alla,ir para alla,voy a ir para alla,voy a su casa,going to his house,going to her house,going to their house,pull up on,pulling up on,pull up to,go after,going after,went after,come after,coming after,ir a buscar,buscar lo,buscar la,a buscar,"
    "ir por el,ir por ella,voy por el,voy por ella,hunt him down,hunt her down,hunt down,track him down,"
    "track her down,find him,find her,show up at,go over there,go to his,go to her,ir a su casa,wait for him,"
    "wait for her,esperar lo,esperar la,confront him,confront her",
    "OTHER_PRON": "him,her,them,he,she,they,se,lo,le,los,les,someone,somebody,husband,wife,boyfriend,girlfriend,"
    "partner,ex,boss,coworker,roommate,neighbor,everyone,everybody,them all,all of them,people,esposo,esposa,"
    "marido,novio,novia,jefe,vecino,vecina,todos,ellos,el tipo,that guy,that man,that woman",
    "PERSON": "him,her,them,he,she,they,someone,somebody,husband,wife,boyfriend,girlfriend,partner,ex,boss,coworker,"
    "roommate,neighbor,mom,mother,dad,father,brother,sister,son,daughter,kid,kids,child,baby,esposo,esposa,"
    "marido,novio,novia,jefe,vecino,vecina,mama,papa,hermano,hermana,hijo,hija,bebe,lo,la,los,las,se,el,ella,"
    "ellos,everyone,everybody,todos,them all,all of them,people,gente,alguien",
    "DEAD": "dead,muerto,muerta,muertos,muertas,gone,die,dies,died,muera,mueran,morir,six feet under,bleed,"
    "suffer,sufra,sufran,in the ground,bajo tierra",
    "WHAT_DO": "what i will do to,what i might do to,what i could do to,what i would do to,what i am going to do to,"
    "what i may do to,lo que le pueda hacer,lo que le puedo hacer,lo que le haga,lo que le voy a hacer,"
    "lo que les pueda hacer,lo que les haga,lo que podria hacer le,what i might do,lo que pueda hacer",
    # Medical emergency ---------------------------------------------------------------------------
    "CHEST": "my chest,sternum,esternon,chest,chests,pecho,cheast",
    "HEART": "heart,corazon",
    "PAIN": "squeezed,squeeze,squeezes,pressed,pressing,crushed,crush,weight,heavy weight,elephant,elefante,aplastan,aplastando,aplasta,peso,presionando,clamped,vice,vise,band,fist,caving in,on fire,constriction,constricted,pain,pains,pian,pane,paine,painful,hurt,hurts,hurting,ache,aches,aching,tight,tightness,tighter,pressure,"
    "crushing,squeezing,heavy,heaviness,killing,burning,sharp,stabbing,dolor,dolores,duele,duelen,"
    "doliendo,aprieta,apretado,apretada,opresion,presion,punzada,ardor,weird pain",
    "HEART_ATTACK": "heart attack,infarto,ataque al corazon,ataque cardiaco,paro cardiaco,cardiac arrest",
    "BREATHE": "breathe,breathing,breath,breathes,breaths,breathed,breth,brethe,air,aire,respirar,respiro,"
    "respiracion,respira,a full breath,enough air",
    "DIFFICULTY": "trouble,hard,difficult,difficulty,struggling,struggle,barely,hardly,labored,problems,"
    "problem,cuesta,dificultad,hard time,trabajo para,hard to,can barely",
    "BREATH_WEAK": "out of breath,winded,sin aliento",
    "BREATH_EMERGENCY": "suffocating,suffocate,suffocated,suffocation,asfixio,asfixiando,asfixia,me asfixio,me estoy asfixiando,no me entra el aire,no me entra aire,me falta la respiracion,me falta respiracion,falta de respiracion,no entra el aire,no me llega el aire,no me llega aire,no me alcanza el aire,se puso morado,se puso morada,se esta poniendo morado,se esta poniendo morada,turning purple,turned blue,went blue,labios azules,blue lips,gasping for air,choking on,not getting air,no air,drowning,air hunger,short of breath,shortness of breath,falta de aire,me falta el aire,"
    "me falta aire,me ahogo,ahogando,gasping,wheezing,choking,lips look blue,lips are blue,turning blue,"
    "lips blue,stopped breathing,dejo de respirar,sin aire,cant get air,me estoy ahogando,labios morados",
    "THROAT": "throat,garganta,tongue,lengua",
    "CLOSING": "cierra,cerro,closed,closes,shut,swelling shut,swelled,hinchado,hinchandose,tight,closing,closing up,swelling,swollen,tight,cerrando,cerrandose,hinchada,hinchando,se cierra",
    "FAINT": "just came to,finally came to,when i came to,after i came to,woke up on the floor,woke up on the ground,came around on the floor,volvi en mi,recobre el conocimiento,desperte en el piso,desperte en el suelo,recupere el conocimiento,went limp,gone limp,goes limp,go limp,losing consciousness,lose consciousness,losing conciousness,lost conciousness,pierdo el conocimiento,perdiendo el conocimiento,se me va el conocimiento,se desmayo,me desvaneci,me desvanezco,desvaneci,desvanecio,se desvanece,me voy a desmayar,casi me desmayo,keeled over,keep blacking out,blackouts,syncope,fainted again,went unconscious,out cold,dropped to the floor,hit the floor,se cayo desmayado,se cayo desmayada,is not waking,fainted,faint,fainting,faints,passed out,pass out,passing out,passes out,blacked out,"
    "black out,blacking out,unconscious,unresponsive,collapsed,collapse,collapsing,desmaye,desmayo,"
    "desmayado,desmayada,desmayando,desmayarme,desmayar,desmayos,inconsciente,perdi el conocimiento,"
    "perdio el conocimiento,lost consciousness,knocked out,no reacciona,se desvanecio",
    "RESPONSIVE": "responding,responsive,respond,responds,reacting,reacciona,responde,reaccionaba,respondia,"
    "despierta",
    "ANSWERING": "answering,answer,contesta,contestando",
    "SEIZURE": "bit my tongue,bit her tongue,bit his tongue,se mordio la lengua,me mordi la lengua,had a fit,has a fit,tuvo un ataque,eyes rolling,dando un ataque,dio un ataque,dando convulsiones,ataque de epilepsia,epilepsia,grand mal,eyes rolled back,ojos en blanco,foaming at the mouth,espuma por la boca,seizure,seizures,seizing,seized,convulsing,convulsion,convulsions,convulsionando,"
    "convulsiones,convulsiono,convulsionar,ataque epileptico,epileptic fit,fitting,having a fit",
    "SHAKING": "shaking,shakes,jerking,twitching,temblando,sacudiendo,convulsing",
    "ALL_OVER": "will not stop,can not stop,no para,no deja de,whole body,entire body,todo el cuerpo,all over,uncontrollably,non stop,nonstop,sin control,sin parar,todo el cuerpo",
    "STROKE": "ictus,derrame cerebral,stroke,strokes,derrame,derrame cerebral,embolia,ataque cerebral,accidente cerebrovascular",
    "FACE": "face,mitad de la cara,lips,labios,eye,ojo,cheek,mejilla,face,cara,boca,mouth,smile,sonrisa,rostro",
    "DROOP": "torcio,se torcio,se me torcio,torcida,sagging,went crooked,se cayo de un lado,drooping,droopy,droop,droops,drooped,sagging,saggy,crooked,uneven,lopsided,caida,caido,"
    "chueca,chueco,torcida,torcido,colgando",
    "SPEECH": "speech,words,talking,speaking,talk,speak,voice,habla,hablar,hablo,palabras,hablando",
    "SLUR": "slurred,slurring,slur,slurry,garbled,arrastrando,arrastro,trabada,trabo,enredada",
    "SIDE": "medio cuerpo,medio lado,media cara,half of my body,half,half of,mitad,la mitad,one half,side,lado,one side,un lado,half my body,half of my body,mitad del cuerpo",
    "LR": "left,right,izquierdo,izquierda,derecho,derecha",
    "LIMB": "arm,arms,leg,legs,hand,hands,face,foot,feet,fingers,brazo,brazos,pierna,piernas,mano,manos,"
    "cara,pie,pies,dedos,side,lado,body,cuerpo",
    "WEAK": "no me funciona,no me funcionan,no funciona bien,will not work,does not work,is not working,are not working,stopped working,not working,no funciona,no funcionan,no responde,no responden,no me responde,no me responden,dejo de funcionar,dejaron de funcionar,no me hace caso,no me hacen caso,gave out,gives out,entumio,entumecio,adormecio,entumecida,entumecido,se me durmio,se me entumio,se me adormecio,went numb,gone numb,tingling and numb,numbing,dead weight,useless,floppy,weak,weakness,numb,numbness,limp,heavy,paralyzed,cant move,dead,debil,debilidad,entumido,"
    "entumida,adormecido,adormecida,dormido,dormida,durmio,paralizado,paralizada,no siento,no lo siento",
    "MOVE": "move,lift,raise,feel,use,mover,levantar,sentir,siento,mueve",
    "SPEAK_OK": "right,properly,normally,normal,straight,bien,clearly,claro",
    "SHALLOW": "shallow,rapid,labored,laboured,raspy,irregular,superficial,entrecortada,agitada,gasping,weak,"
    "struggling,slow,very slow,stops,stopping,noisy,rattling",
    "AIR_VERB": "entra,llega,alcanza,get,getting,pasa,jalar,jalo,pull,pulling,sucking",
    "FALTA": "falta,me falta,faltando,me esta faltando,lacking,short on,se me va,se me acaba,me hace falta",
    "NOT_MOVING": "not moving,no se mueve,sin moverse,no se movia,is not moving,wont move,will not move,not responsive,"
    "lifeless,limp,went limp,gone limp,cold and blue,not breathing right,no reacciona,no responde,not responding,"
    "unresponsive,not waking up,no despierta,not answering,is not waking,will not wake,not moving at all,"
    "face down,boca abajo,passed out,out cold,eyes rolled,unconscious,inconsciente",
    "ON_FLOOR": "lying on,laying on,lying in,laying in,lying,laying,floor,ground,piso,suelo,tirado en,tirada en,tirado,tirada,on the floor,on the ground,en el piso,en el suelo,on the bathroom floor,in the tub,in the bathtub,"
    "en la tina,en el bano,found him,found her,la encontre,lo encontre,encontre a,found my,is lying,laying there,"
    "lying there,ahi tirado,ahi tirada",
    "ODD": "weird,strange,funny,wrong,garbled,jumbled,mixed up,raras,extranas,raro,rara,no salen,coming out wrong,"
    "come out wrong,gibberish,nonsense,no tienen sentido,not making sense,making no sense,stuck",
    "CANT_SPEAK3": "no puede hablar,he can not talk,she can not talk,he can not speak,she can not speak,"
    "can not form words,can not get words out,can not get the words out,no le salen las palabras,"
    "no me salen las palabras,can not find the words,can not find my words,can not say words,"
    "he is not making sense,she is not making sense,no puede hablar bien,no habla bien,no le entiendo",
    "RADIATE": "radiating,radiates,radiate,spreading,spreads,shooting down,goes down,going down,down my arm,"
    "into my arm,to my arm,into my jaw,to my jaw,baja al brazo,se corre al brazo,se extiende,se me va al brazo,"
    "hasta el brazo,al brazo,jaw,mandibula,back and arm",
    "ALMOST": "almost,nearly,casi,practically,about to have,like i was going to have",
    "HYPO": "si tengo,if i have,if i get,do we cancel,should we cancel,would we cancel,will we cancel,do i cancel,should i cancel,will you cancel,do we reschedule,should we reschedule,cancel the session,cancelamos,se cancela,cancelan la sesion,if my bp,if my blood pressure,if my pressure,si mi presion,si tengo la presion,side effect,side effects,efecto secundario,efectos secundarios,watch for,look out for,could i have,can it,does it,puede dar,la ketamina,ketamine,will ketamine,is it safe,does ketamine,can ketamine cause,is that a sign,should i be worried about,what are the chances,possible to,posible que,will i,what if,what happens if,is it normal,is it normal to,que pasa si,es normal,y si,could i,might i,"
    "can it cause,does it cause,puede causar,is it possible,should i worry,is it common,es comun,do people,"
    "will it,would i,can ketamine,puede la ketamina,in case,en caso de,si llego a,if i ever,if i start,"
    "si me da,if it happens,do you think i will,should i expect",
    # Urgent symptoms -----------------------------------------------------------------------------
    "VOMIT": "hugging the toilet,hugging the porcelain,praying to the porcelain god,abrazando el inodoro,abrazada al inodoro,abrazado al inodoro,abrazando la taza,head in the toilet,vomitado,vomite,he vomitado,threw up again,puked again,dry heaves,arcadas,guacarear,guacareando,guacarie,wretching,retching,throwing up blood,vomiting blood,hurling,hurled,vomit,vomits,vomiting,vomited,vomitting,vomitted,throwing up,throw up,threw up,thrown up,"
    "throwin up,throws up,puke,puking,puked,pukes,barf,barfing,barfed,vomitar,vomitando,vomitado,vomito,"
    "vomite,vomitos,devolviendo,deposiciones,heaving,dry heaving",
    "PERSIST": "keeps,not stopping,no se detiene,all the time,every hour,every few minutes,cada rato,a cada rato,cada hora,still going,still happening,keep on,sigue y sigue,non stop,keep,keeps,kept,still,constantly,nonstop,non stop,continuous,continuously,repeatedly,"
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
    "RETAIN": "stays down,staying down,stay down,will stay down,se queda,se me queda,se queda adentro,retener,retener nada,keep anything,keep nothing,hold anything,retengo,retener,retiene,aguanto nada",
    "HEADACHE": "headache,headaches,head ache,head aches,migraine,migraines,dolor de cabeza,jaqueca,"
    "migrana,migranas,hedache,headach",
    "HEAD": "forehead,frente,noggin,nuca,temple,sien,back of my head,head,cabeza,skull",
    "SEVERE": "estallar,estalla,burst,bursting,split open,worst pain,peor dolor,fuertisimo,durisimo,unreal,brutal,killer,excruciante,agudo,10 out of 10,ten out of ten,like a hammer,like a knife,thunderclap,severe,terrible,horrible,awful,worst,excruciating,unbearable,intense,extreme,really bad,"
    "so bad,very bad,bad,agonizing,splitting,pounding,throbbing,exploding,killing,blinding,insane,"
    "crazy,peor,fuerte,fuertisimo,insoportable,terrible,horrible,muchisimo,espantoso,tremendo,"
    "horrendo,explotar,worse,worst ever",
    "BP": "systolic,top number,the top number,sistolica,la de arriba,bp reading,pressure reading,presion alta,high blood pressure,hypertension,hipertension,bps,bp's,mmhg,blood pressure,bp,b p,presion,presion arterial,tension,tension arterial,bloodpressure,"
    "blood preasure,blood presure",
    "VERY_HIGH": "dangerously,insanely high,scary high,alarmingly high,really really high,altisima,altisimo,muy elevada,elevadisima,muy alta,bien alta,altota,really high,very high,super high,so high,too high,sky high,through the roof,way high,"
    "dangerously high,crazy high,por las nubes,muy alta,altisima,bien alta,elevadisima,super alta,"
    "demasiado alta,hypertensive crisis,crisis hipertensiva,off the charts,high as",
    "HIGH": "high,alta,elevated,elevada",
    "PSYCH": "talking nonsense,not making sense,saying nonsense,babbling,diciendo incoherencias,incoherente,no dice cosas con sentido,no sabe donde esta,does not know where he is,does not know where she is,does not know where he is at,no reconoce donde esta,tripping hard,cant come down,can not come down,not come back,not coming back,stuck in the k hole,bad trip,no he regresado,sigo drogado,sigo drogada,psychotic,psicosis,psychosis,paranoia,paranoica,paranoico,hallucinating,hallucinate,hallucinations,hallucination,hallucinated,seeing things,"
    "hearing things,hearing voices,voices,confused,confusion,disoriented,disorientated,out of it,"
    "dissociating,dissociated,dissociation,tripping,delirious,paranoid,alucinando,alucinaciones,"
    "alucinacion,alucino,confundido,confundida,desorientado,desorientada,voces,viendo cosas,veo cosas,"
    "escuchando voces,oyendo voces,oigo voces,escucho voces,visuals,visions,not myself,k hole,"
    "detached from reality,not real,nothing feels real,perdido,perdida,seeing stuff",
    "SEE": "talking to,talks to,talking with,talked to,hablando con,habla con,hablar con,see,seeing,saw,seen,hear,hearing,heard,veo,viendo,ver,vi,oigo,escucho,oyendo,escuchando",
    "THINGS": "someone,somebody,alguien,a man,a woman,un senor,una senora,a person,una persona,things,stuff,cosas,people,bugs,gente,personas,shadows,sombras,voices,voces",
    "UNREAL": "not there,are not there,is not there,no estan,no existen,not real,no son reales,no hay nadie",
    "KNOW": "saber,sabia,knows,knew,know,se,sabe",
    "WHERE": "where,donde",
    "MOVING": "moving,melting,breathing,crawling,se mueven,se mueve,moviendo,derritiendo,waving,bending",
    "WALLS": "walls,wall,ceiling,floor,paredes,pared,techo,piso",
    "FALL": "wiped out on,wipe out on,wiped out in,wiped out down,took a tumble,took a spill,tumble,tumbled,biffed,face planted,faceplanted,face plant,went down hard,eat shit,ate shit,fell over,fell down,keeled,lost my balance,perdi el equilibrio,me fui de boca,me fui de espaldas,me cai en,rodé,rode por,fell,fall,falls,fallen,falling,tripped,slipped,cai,me cai,took a fall,had a fall,"
    "have fallen,me resbale,me tropece,resbale,tropece",
    "FALL_SUBJ": "i,me,just,then,and,also,y,also,almost,nearly",
    "FALL_IDIOM": "in love,enamorado,enamorada,asleep,behind,love,for,through,apart,short,dormido,dormida,bien,mal",
    "HIT": "bashed,bash,bonked,bonk,whacked,whack,conked,knocked,smashed,smacked,banged,pegue durisimo,me pegue,me di un golpe,me golpee,me di un golpazo,golpazo,madrazo,chingadazo,trancazo,"
    + _en("hit", "bump", "bang", "smack", "strike")
    + ",struck,hit,pegue,golpee,golpe,golpeo,"
    "me pegue,me golpee,me di,cracked,slammed",
    "HEAD_INJURY": "bashed my head,bonked my head,banged my head,smacked my head,whacked my head,cracked my head,split my head,hit my head,knocked my head,me pegue en la cabeza,me rompi la cabeza,me abri la cabeza,golpe en la frente,descalabre,me descalabre,head injury,head injuries,concussion,conmocion,golpe en la cabeza,golpe fuerte,"
    "hit my head,hit his head,hit her head,bumped my head",
    "CRASH": "clipped,clip,sideswiped,swerved into,swerve into,swerved off,spun out,went into a ditch,ended up in a ditch,landed in a ditch,into a ditch,me sali de la carretera,me fui a la cuneta,derrape,me derrape,se me fue el carro,estrelle,me estrelle,estrello,nos estrellamos,se estrello,wrecked,wreck,accidente de transito,choque,fender bender,hit and run,rolled the car,flipped the car,rolled my car,flipped my car,totaled it,ran into,rammed,plowed into,slammed into,crashed into,me volque,volque el carro,me sali del camino,crashed,crash,crashing,wrecked,wreck,totaled,totalled,collision,accident,accidents,"
    "accidente,choque,choco,chocamos,chocaron,me chocaron,fender bender,rear ended,rear end,"
    "rear ending,t boned,sideswiped,ran off the road,se volteo,volque",
    "VEHICLE": "red light,stop sign,a red light,intersection,my car,the car,el carro,mi carro,bike,bicycle,bicicleta,camion,bus,uber,lyft,on the road,calle,carretera,autopista,semaforo,car,cars,truck,vehicle,van,suv,carro,carros,coche,auto,camioneta,moto,motorcycle,road,"
    "highway,freeway,driving,drove,drive,drive home,manejando,manejar,maneje,conduciendo,conducir,"
    "on the way home,camino a casa,another car,otro carro,traffic,parking lot",
    "OBSTACLE": "car in front,the car in front,el de adelante,un poste,un arbol,una pared,a guardrail,the median,a ditch,ditch,zanja,cuneta,the garage,garage door,building,a building,pole,tree,wall,guardrail,mailbox,curb,deer,poste,arbol,pared,barda,telephone pole,"
    "light pole,a pole,a tree,a wall,someone,a car,another car,a pedestrian",
    "GOT_IN": "got in,got into,was in,been in,were in,tuve,tuvimos,estuve en,was involved in,had a car",
    "PEE": "he orinado,ha orinado,he hecho pipi,he hecho pis,orinado,pis,hacer pis,mear,mee,peed,urinated,void,voided,pee,peeing,peed,urinate,urinating,urination,urine,orinar,orina,orino,hacer pipi,pipi,mear,"
    "piss",
    "NOTHING_COMES": "no puedo,just dribbles,dribbling,only a trickle,trickle,nothing comes out,nothing comes,nothing came out,nothing happens,no sale nada,"
    "no sale,nothing is coming out,only drops,solo gotas",
    # Urgent symptoms in other words: counts of vomiting, a head about to burst, readings in words, not
    # recognising home or family, a bladder that will not empty.
    "TIMES": "times,veces,time,vez",
    "EXPLODE": "explode,exploding,explote,estallar,estalla,explotar,explota,burst,going to pop,split open,"
    "splitting open,cracking open,partir,partiendo,reventar,revienta",
    "PRESSURE": "pressure,presion,tension,numbers,readings,reading,",
    "BP_DIA": "diastolic,bottom number,diastolica,la de abajo,the bottom number,lower number",
    "RISE": "subio,se subio,se me subio,me subio,spiked,shot up,went up,skyrocketed,skyrocketing,rising,se disparo,"
    "se me disparo,jumped,increased,sube,subiendo,climbing,keeps going up,sigue subiendo,esta subiendo,spiking",
    "MILD": "a bit,a little,un poco,slightly,tantito,poquito,a tad,little bit,a little bit,un poquito,barely,mild,"
    "normal,normales",
    "RECOGNIZE": "recognize,recognise,reconozco,reconoce,recognizing,recognising,reconocer,know who i am,"
    "know who he is,know who she is,know what day,know what day it is,know what year,know what time it is,"
    "know my name,se quien soy,se que dia es,se donde estoy,recuerdo quien soy,remember who i am,remember my name,"
    "know where i live,se donde vivo,recognize my,recognize anyone,reconozco a",
    "PHONE_NUM": "this number,the number,este numero,ese numero,that number,the name,this name,el nombre,the caller,"
    "your number,the song,the app,the address,the voice",
    "BLADDER": "bladder,vejiga,my bladder,mi vejiga",
    "RESOLVED_TO": "i have decided,i decided,decided,made peace with it,made my peace,at peace with it,i am at peace with it,made up my mind,my mind is made up,mind is made up,ya lo decidi,ya decidi,lo decidi,tome la decision,ya tome la decision,ya me decidi,estoy decidido,estoy decidida,en paz con eso,ya estoy en paz,hice las paces con eso",
    "END_IT": "acabo con todo,acabo con esto,termino con todo,termino con esto,acabar con mi vida,terminar con mi vida,end it,ending it,ended it,end things,ending things,end it tonight,acabar con esto,acabar con todo,terminar con esto,terminar con todo",
    "WHEN_SOON": "tonight,tomorrow,this weekend,after my shift,after work,after the appointment,after they leave,when the kids,when everyone,before morning,by friday,this week,esta noche,manana,este fin de semana,despues del trabajo,despues de mi turno,cuando se vayan,cuando los ninos,antes de que,after,despues de,when,cuando,by,before,antes",
    "WITH": "with,con,for,para",
    "NEG_MAKE_IT": "not going to make it,not make it,will not make it,am not making it,no voy a llegar,no llego,no voy a aguantar hasta",
    "THANKS_ALL": "thank you for trying,thanks for trying,thank you for everything,thanks for everything,thank you for all you did,thanks for all you did,thank you for all you have done,thanks for all you have done,gracias por todo,gracias por intentarlo,gracias por intentar,gracias por todo lo que hicieron,gracias por todo lo que hizo,gracias por tratar",
    "APPT": "appointment,appointments,next appointment,the next appointment,session,sessions,next session,cita,citas,la cita,las citas,sesion,sesiones,la proxima cita,treatment,tratamiento,treatments,consultas,consulta",
    "NEED_GO": "need,needing,ir,go,going,asistir,venir,come,coming,necesitar,necesito",
    "LOVE_ALL": "i love you all,love you all,los quiero a todos,los amo a todos,los quiero mucho,los amo,i love you guys,love you guys,i love you so much,tell them i love them,diles que los quiero",
    "APOLOGY": "sorry,i am sorry,so sorry,lo siento,perdon,perdoname,perdonenme,forgive me",
    "EASY_IT": "how easy it would be,how easy it would be to,how easy it would be to do,would be so easy,it would be easy,be so easy,lo facil que seria,que facil seria,seria tan facil,seria muy facil,how quick it would be,how simple it would be",
    "MEANS": "pills,pill,bottle of pills,pastillas,gun,pistol,pistola,arma,rope,soga,cuerda,razor,navaja,cuchillo,knife,blade,bridge,puente,train tracks,the tracks,vias del tren,las vias,the river,el rio,the ledge,the roof,la azotea,meds,medicamentos",
    "STARE": "looking at,staring at,stare at,keep looking at,mirando,viendo,observando,holding,sosteniendo,tengo en la mano",
    "METHOD_STRONG": "lethal dose,lethal dosage,fatal dose,dosis letal,dosis mortal,dosis fatal,lethal amount,cantidad letal,how many would kill,how many would it take to die,how many it takes to die,how many pills to die,how many pills would kill,cuantas pastillas para morir,cuantas pastillas me matan,how much would kill me,what would kill me,overdose amount,cuanto para una sobredosis,how many to overdose,how much to overdose",
    "WALK_INTO": "walked into,walk into,walking into,step into,stepped into,stepping into,swim out,swam out,swim out into,jumped into,jump into,drive into,drove into,me meto al,meter me al,entrar al,me metiera al,caminar hacia el,caminara hacia el",
    "DEEP_WATER": "the river,the lake,the ocean,the sea,the water,the bay,traffic,oncoming traffic,the train,a train,el rio,el lago,el mar,el oceano,el agua,la bahia,el trafico,al rio,al mar,al lago,al tren",
    "ANYONE_MISS": "would anyone miss me,would anyone even miss me,would anyone look for me,would anyone even look for me,would anyone care if i,would anyone even care if i,would anyone notice if i was gone,would anyone notice if i were gone,would anyone even notice if i,nobody would miss me,no one would miss me,nobody would even miss me,nobody would notice if i was gone,nadie me extranaria,nadie me buscaria,alguien me extranaria,alguien me buscaria,alguien me extrañaria,se darian cuenta si no estoy,nobody would look for me,no one would look for me",
    "ENOUGH": "enough,suficientes,suficiente,enough of them,bastantes",
    "REFILL": "refill,refills,trip,vacation,viaje,vacaciones,until,hasta,pharmacy,farmacia,surtir,week,month,semana,mes,weekend,insurance,seguro,travel",
    "PICK_SPOT": "picked a spot,picked the spot,picked out a spot,chose a spot,chose the spot,found a spot,found the spot,found the place,picked the place,scouted,escogi un lugar,escogi el lugar,elegi el lugar,elegi un lugar,ya tengo el lugar,encontre el lugar,ya encontre donde",
    "PAINLESS": "sin que duela,que no duela,painless,painlessly,without pain,without it hurting,so it does not hurt,so it will not hurt,quick and painless,rapido y sin dolor,sin sufrir,without suffering",
    "WORTHLESS": "waste of space,waste of air,waste of oxygen,waste of life,a waste of space,desperdicio de espacio,desperdicio de oxigeno,desperdicio de aire,worthless,useless,good for nothing,no sirvo para nada,no valgo nada,inutil,un estorbo,una carga,burden,estorbo,carga,mistake,un error,a mistake,failure,un fracaso",
    "FAVOR": "doing everyone a favor,do everyone a favor,doing them a favor,do them a favor,do the world a favor,doing the world a favor,doing my family a favor,do my family a favor,a favor to everyone,hacer les un favor,les haria un favor,les hago un favor,le haria un favor al mundo,hacer le un favor al mundo,un favor a todos",
    "SELF_PART": "hand,hands,arm,arms,wrist,wrists,leg,legs,thigh,thighs,skin,finger,fingers,palm,mano,manos,brazo,brazos,muneca,munecas,pierna,piernas,piel,dedo,dedos,palma",
    "HOT": "stove,burner,stove burner,the stove,flame,lighter,iron,hot pan,curling iron,candle,cigarette,estufa,hornilla,la estufa,flama,encendedor,plancha,cigarro,cigarrillo,vela,fuego,fire",
    "HOLD_ON": "held,hold,holding,pressed,press,pressing,put,puse,pongo,poniendo,presione,sostuve,deje",
    "FINISH": "finished,finished off,finish off,finishing off,polished off,polish off,emptied,empty,me acabe,acabe,me termine,termine,vacie,me lo acabe,me la acabe,me los acabe,me las acabe,se acabo,se termino",
    "COURSE": "course,round,antibiotics,antibioticos,prescription ended,tratamiento,el tratamiento",
    "FOUND": "found,find,caught,saw,encontre,halle,vi,cache",
    "MISSING": "missing,some are missing,are missing,gone,some gone,empty,open,opened,chewed,faltan,falta,faltan algunas,abierto,abierta,vacio,vacia,mordido",
    "DRINKOBJ": "drink,drinks,my drink,cup,glass,soda,beer,bebida,mi bebida,trago,mi trago,vaso,copa,cerveza",
    "DRUGGED": "drugged,roofied,got roofied,spiked my drink,spiked,slipped something,slipped me something,put something in my drink,me drogaron,me pusieron algo,me echaron algo,le pusieron algo,me metieron algo",
    "REDOSE": "again and then again,and again,then again,again and again,more and more,mas y mas,y otra vez,otra vez y otra vez,de nuevo y de nuevo,over and over,una y otra vez,kept taking,keep taking,keeps taking,sigo tomando,seguia tomando",
    "TAKE_ANY2": "took,taking,take,taken,used,using,tome,tomando,tomar,use,usando,usar,me tome,dosed,dosing",
    "FORGOT": "forgot,forgetting,forget,olvide,se me olvido,no me acorde,no recordaba",
    "DRUG_TAKEN": "se metio algo,se tomo algo,se metio,took something,took some stuff,took some,used something,used drugs,did drugs,se drogo,se metio droga,se metio drogas,tomo algo,got into something,was using,using again,snorted something,shot up,took a bunch of something,drank something,bebio algo",
    "UNWAKE": "no despierta,will not wake up,will not wake,can not wake him,can not wake her,not waking up,no puedo despertar lo,no puedo despertar la,no lo puedo despertar,no la puedo despertar",
    "PUT": "put,putting,send,sending,mandar,mando,mandare",
    "IN_HOSPITAL": "in the hospital,in the er,in the ground,in a body bag,in a coffin,in the morgue,al hospital,al panteon,a la tumba,bajo tierra,six feet under",
    "OUTING": "dinner,lunch,breakfast,drinks,brunch,coffee,movies,movie,shopping,a date,to eat,cena,comer,cafe,pizza,ice cream,helado,walk,paseo,bowling,birthday,trash,garbage,basura,the dog,recycling,loan,insurance,order,takeout",
    "ACQUIRE2": "bought,buy,buying,got,picked up,ordered,compre,consegui,comprando,loaded,cargue",
    "AMMO": "ammo,ammunition,bullets,rounds,shells,magazine,mag,balas,municiones,cartuchos,gun,guns,rifle,pistol,pistola,arma,escopeta",
    "OMINOUS": "will understand,will understand tomorrow,will see,will find out,will learn,will be sorry,will regret,will know,va a entender,van a entender,van a ver,va a ver,se van a enterar,se va a enterar,se va a arrepentir,se van a arrepentir,everyone will know,todos van a saber,tomorrow will be different,it ends tomorrow",
    "ABUSE_PAST": "slapped,spanked,shook,shoved,choked,kicked,punched,smacked,whipped,threw,le pegue,cachetee,sacudi,zarandee,golpee,patee,ahorque",
    "TOO_HARD": "too hard,way too hard,so hard,demasiado fuerte,muy fuerte,tan fuerte,could do it again,might do it again,will do it again,do it again,lo vuelva a hacer,volver a hacer lo,lo podria volver a hacer,pueda volver a hacer lo,lose it again,snap again",
    "REVENGE": "desquitar,vengar,desquitarme,vengarme,desquitar me,desquitar me con,vengar me,vengar me de,get back at,get even with,take revenge on,get revenge on,payback,cobrar me,cobrar se la,ajustar cuentas",
    "SO_BAD": "till,hasta que,so bad,so hard,that bad,tan fuerte,tan duro,tan feo,until",
    "DIZZY": "maree,me maree,mareandome,me estoy mareando,me dio mareo,lightheaded,light headed,dizzy,woozy,mareado,mareada,mareo,vertigo,spinning,head spinning,me dio vueltas la cabeza,todo me daba vueltas,everything went black,everything went dark,se me nublo todo,tunnel vision",
    "WENT_DOWN": "went down,hit the ground,hit the floor,dropped,me fui al piso,cai al piso,me cai,fell,collapsed,me desplome,desplome",
    "CAME_TO": "just came to,i came to,came to,finally came to,desperte,just woke up,volvi en mi",
    "URGE_GO": "have to go,need to go,gotta go,got to go,have to pee,need to pee,urge to go,urge to pee,tengo ganas,ganas de orinar,ganas de ir al bano,tengo que ir al bano,necesito ir al bano,feel like i have to go",
    "BE_LOC": "am,estoy,esta,is,estamos,are,estan,was,were,estaba",
    "PLACE_THING": "apartment,old apartment,house,old house,old place,home,car,old car,job,old job,city,town,the beach,vacation,summer,apartamento,departamento,depa,casa,casa vieja,mi casa vieja,trabajo,ciudad,pueblo,carro,coche,escuela,school,neighborhood,barrio,office,oficina,coworkers,companeros,class,clase",
    "OTHERS_THING": "neighbors,neighbors car,friends car,coworkers car,sisters car,brothers car,moms car,dads car,uncles car,del vecino,de mi vecino,de mi vecina,de mi amigo,de mi amiga,de mi hermano,de mi hermana,de mi tio",
    "EVENT": "move,moving,move in,mudo,me mudo,mudanza,new place,new apartment,nuevo depa,new job,first day,own bed,my bed,my own bed,mi cama,date,concert,game,party,show,fiesta,concierto,partido,trip,flight,vuelo,viaje,dinner,cena,premiere,finale,birthday,cumpleanos,wedding,boda,graduation,graduacion,season,episode,movie,pelicula,sleep in,dormir en",
    "HYPERBOLE": "when they told me,when i heard,when i found out,when i saw the bill,when i saw the price,the copay,copay,the bill,the price,el precio,la cuenta,el copago,copago,cuando me dijeron,cuando supe,cuando vi el precio,good news,buenas noticias,the news",
    "EXERTION": "workout,work out,working out,the gym,gym,running,ran,run,jog,jogging,hike,hiking,stairs,exercise,exercising,spin class,yoga,cardio,ejercicio,gimnasio,correr,corriendo,escaleras",
    "RESOLVED": "he is fine,she is fine,they are fine,he is ok,she is ok,he is okay,she is okay,it stopped,stopped after,finally stopped,it did stop,se paro,ya paro,se detuvo,ya se detuvo,ya se calmo,fine now,ok now,okay now,gone now,all gone now,better now,normal now,bien ahora,went away,it went away,it passed,passed now,i was fine,was fine,checked out fine,checked me and,said i was fine,said it was normal,back to normal,se me quito,ya se me quito,ya se me paso,ya paso todo,dijo que estaba bien,dijeron que estaba bien,she is fine now,he is fine now,they are fine now,esta bien ahora,ya esta bien",
    "CAUSE_Q": "cause,causes,causar,causa,puede causar,provoca,provocar,give you,give people,dar dolor,can the,can it,can ketamine,does ketamine,does the spray,does it",
    "DISORDER": "trastorno de convulsiones,trastorno convulsivo,seizure disorder,seizure disorders,disorder,disorders,history,meds,medication,medications,medicine,trastorno,risk,precautions,threshold,condition,syndrome",
    "OTHER_SUICIDE": "died by suicide,died of suicide,committed suicide,lost to suicide,lost him to suicide,lost her to suicide,killed himself,killed herself,took his own life,took her own life,took their own life,se suicido,se quito la vida,se mato",
    "OPAQUE": "feels lighter,feel lighter,feeling lighter,felt lighter,much lighter,so much lighter,a lot lighter,lighter emotionally,trastorno de convulsiones,trastorno convulsivo,seizure disorder,seizure disorders,neighbors car,friends car,coworkers car,sisters car,brothers car,moms car,dads car,uncles car,del carro del vecino,el carro de mi vecino,el carro del vecino,died by suicide,died of suicide,committed suicide,lost to suicide,lost him to suicide,lost her to suicide,killed himself,killed herself,took his own life,took her own life,took their own life,se suicido,se quito la vida",
    "CAR_OBJ": "car,cars,another car,a car,otro carro,carro,coche,otro coche,truck,camioneta,the car in front,suv,van,parked car,a parked car,un carro,una camioneta,el carro de adelante,a mailbox,a pole,a post",
    "TAKE_OUT": "shooting up,take out,taking out,take em out,take them out,wipe out,wiping out,light up,shoot up,sacar a todos,acabar con,acabar con todos",
    "HOW_MANY": "how many,how much,cuantas,cuantos,cuanto",
    "KILL_ME": "would kill me,will kill me,to kill me,it would take to die,to die,para morir,me matan,me mataria,me matarian,is lethal,would be lethal,to overdose,para una sobredosis,would be fatal,is fatal",
    "FROM_LAUGH": "from laughing,de tanto reir,de la risa,from laughter,laughing so hard",
    "FAREWELL_FINAL": "this is goodbye,esto es un adios,es un adios,es mi despedida,goodbye forever,adios para siempre,goodbye for good,this is my goodbye",
    # Exceptions by class: a crash someone else had ("there was a crash on the highway"), laughter that
    # settles a fall ("me cai de la risa"), a petty grievance told laughing ("she ate my leftovers lol"),
    # hyperbole about weather, heat or chores with an exasperated emoji ("makes me want to die 🥵").
    "IMPERSONAL": "there was a,there was an,there is a,there is an,there s a,hubo un,hubo una,hay un,hay una,"
    "stuck behind,behind a,behind an,detras de un,detras de una,on the news,en las noticias,saw a,vi un,vi una",
    "PETTY": "ate my,leftovers,ate my food,ate my lunch,took my charger,borrowed my,stole my fries,spoiled,spoiler,"
    "spoilers,for eating,for taking,se comio,se comio mi,mis sobras,las sobras,me quito mi,por comer se,por comerse",
    "HYPER": "one more,una mas,otra junta,meeting,meetings,zoom,reunion,one more time,another meeting,ugh,weather,this weather,heat,the heat,humidity,this humidity,calor,este calor,el calor,"
    "jury duty,homework,this song,the line,mondays,traffic,this traffic,el trafico,la tarea,esta cancion",
    "FEEL_LIGHTER": "feels lighter,feel lighter,feeling lighter,felt lighter,much lighter,so much lighter,"
    "a lot lighter,lighter emotionally",
    # The safety net (NET_RULES): means and death named in other words, read only when no rule fired.
    "N_STRONG": "noose,rope,ropes,soga,unalive,unaliving,unalived,in front of the train,in front of a train,"
    "in front of the subway,in front of a bus,in front of a truck,on the tracks,onto the tracks,frente al tren,"
    "a las vias,en las vias,burning myself,burn myself,burned myself,cutting myself,cut myself,quemarme,"
    "quemar me,cortarme,cortar me,end my life,take my life",
    "N_AMOUNT": "how many,how much,cuantas,cuantos,cuanto,enough,suficientes,suficiente,it would take,"
    "would it take,it takes,se necesitan",
    "N_GUN_WHY": "not for protection,not for hunting,not for the range,no es para proteccion,no es para cazar,"
    "usarla,usarlo,usar la,usar lo,for myself,para mi,on me,use it,using it",
    "N_BELT": "belt,belts,cinturon,cable,cord,extension cord,sheet,sabana,scarf,bufanda",
    "N_HANG": "tied,tie,tying,amarre,amarrado,closet rod,rod,barra,hung,hanging,hangs,colgue,colgar,colgado,colgando,ahorcar,beam,closet door,viga,"
    "doorknob,the rafters,rafter",
    "N_ENGINE": "car running,the car running,engine running,the engine running,motor running,motor encendido,"
    "carro prendido,el carro prendido,carro encendido,exhaust,escape,hose",
    "N_GARAGE": "garage,the garage,garaje,el garaje,cochera,la cochera,closed garage",
    "N_CUT": "cutting,cuttin,razor,razors,blade,blades,cortarme,cortadas,cortes,navaja,cuchilla",
    "N_RELAPSE": "relapsed,relapse,relapsing,recai,recaida,deeper,mas profundo,mas profundas,bad this time,"
    "stitches,puntos",
    "N_LAST": "my last night,my last day,my last text,my last message,mi ultima noche,mi ultimo dia,"
    "mi ultimo mensaje,last time you will hear,last time you hear from me",
    "N_THANKS": "thank,thanks,thank you,thank u,thx,gracias,goodbye,bye,adios,love you,te quiero,los quiero,"
    "sorry,perdon,was always so nice,fue siempre tan linda,take care,cuidense,cuidate",
    "N_THIS_TIME": "this time,esta vez,not telling,not telling anyone,no le voy a decir,no le digo a nadie,"
    "nobody knows,nadie sabe,for real,de verdad,for real this time",
    "N_FREE": "free,libre,libres,free of me,better off,happier,mejor,mas felices,relieved,aliviados",
    "N_PLACE": "job,old job,work,my work,school,my school,office,the office,church,mall,party,trabajo,"
    "escuela,oficina,iglesia,la escuela,el trabajo",
    "OK_FINE": "estoy bien,me siento bien,esta bien,todo bien,me cae bien,me cayo bien,le cae bien,cae bien,cai bien,me caes bien,me cae mal,cae mal",
    "YA_CANT": "ya no puedo,ya no aguanto,ya no doy mas,ya no puedo mas,ya no aguanto mas,ya no se puede",
    "HEIGHT": "how tall,how high,how many floors,how many stories,how far down,how deep,que tan alto,que tan alta,cuantos pisos,que altura,la altura,",
    "BATH": "bath,bathtub,tub,the tub,a bath,the bath,ran a bath,tina,la tina,banera,la banera,bano de tina,took in with me,in with me,conmigo en la tina",
    "ATTEMPT_PAST": "last attempt,my last attempt,my attempt,attempted,tried before,ultimo intento,mi intento,intente,lo intente,intento de suicidio,la ultima vez que lo intente",
    "LIKE_THEN": "like that night,like that time,like last time,like the last time,like before,like back then,como aquella noche,como aquella vez,como la ultima vez,como esa noche,como antes",
    "FIGURED": "have it all planned,have it planned,got it all planned,got it planned,it figured out,it all figured out,it all planned out,it planned out,got it figured out,have it figured out,got it all figured out,have it all figured out,figured it out,figured out how,know how i will do it,worked it all out,tengo todo pensado,ya lo tengo pensado,ya tengo todo planeado,ya lo tengo planeado,ya se como",
    "DAY": "friday,saturday,sunday,monday,tuesday,wednesday,thursday,tonight,tomorrow,this weekend,tmrw,el viernes,el sabado,el domingo,el lunes,el martes,el miercoles,el jueves,esta noche,manana",
    "FRAME": "can cause,could cause,may cause,might cause,can give you,cause,causes,puede causar,pueden causar,puede provocar,puede dar,risk of,riesgo de,in rare cases,rare cases,casos raros,read that,lei que,heard that,escuche que,documentary,documentaries,documental,dream,dreamt,dreamed,had a dream,sone,sone que,un sueno,tuve un sueno,nightmare,pesadilla,movie about,a movie,pelicula,podcast,article,articulo,episode,capitulo",
    "REPORT": "said,says,saying,keeps saying,keep saying,told me,tells me,keeps telling me,dice,dijo,dice que,dijo que,me dice,me dijo,sigue diciendo,anda diciendo",
    "COND": "if,si,unless,a menos que",
    "SERIOUS": "no joke,not a joke,not joking,not kidding,no es broma,no estoy bromeando,no bromeo,i mean it,lo digo en serio,en serio",
    "FOOT_IDIOM": "in the foot,en el pie",
    "BURN": "burn,burning,burn down,burning down,quemar,quemarle,prender fuego,prenderle fuego,incendiar,set fire to",
    "DOWN_ADV": "down,to the ground,with him in it,with her in it,with them in it,con el adentro,con ella adentro",
    "NARCAN": "narcan,naloxone,naloxona",
    "NARCAN_NEED": "do we have,do you have,need,needs,gave,give,giving,le di,le dimos,necesito,necesitamos,tienen",
    "OBJ": "a,al,a ese,a esa,a este,a esta,ese,esa,este,esta,that,this,the,his,her,their,your,tu,su,sus,el,my,mi,mis,los,las",
    "STOOD": "stood on,stood at,stood at the edge of,was standing on,been standing on,estuve parado en,estuve parada en,me pare en,me subi a,me subi al,went up to,went to the top of,sat on the edge of",
    "VIOLENT": "kill,kills,killed,killing,murder,murders,murdered,murdering,stab,stabs,stabbed,stabbing,strangle,strangled,strangling,choke,choked,choking,punch,punched,punching,shoot,shooting,beat,beating,hurt,hurts,hurting,harm,harming,shot,beat up,beat the shit out of,beat the crap out of,beat the hell out of,slit the throat of,matar,mato,matare,lastimar,lastimo,golpear,golpeo,madrear,madreo,romper la madre,partir la madre,apunalar,apunalo,ahorcar,ahorco,estrangular,estrangulo,disparar,disparo,balacear,balear,acuchillar,hacer dano,hacer le dano,meter un tiro,meto un tiro,meter un balazo,meto un balazo,asesinar",
    "KILL_IDIOM": "antojo,antojos,sed,ganas,craving,cravings,thirst,appetite,feeling,vibes,momentum,buzzkill,nerves,ego,pride,wallet,back,feelings,chances,career,reputation,credit,budget,diet,streak,vibe,mood,time,game,exam,test,presentation,interview,competition,workout,buzz,lights,light,engine,music,battery,grade,grades,score,record,traffic,heat,rush,deadline,plant,plants,bugs,weeds,spider,spiders,mosquito,mosquitoes,roach,roaches,cucaracha,cucarachas,mosca,moscas,garden,video,videos,photo,photos,pic,pics,picture,pictures,breeze,shot,hoops,pool,email,text,message,mensaje,lot,bit,little,wait,line,odds,boredom,hunger,pain,tiempo,hambre,aburrimiento,rato,cold,fever,infection,germs,bacteria,virus,alarm,joke,conversation,process,app,tab,tabs,download,party,system,boss level,level,dragon,zombies,zombie,character",
    "BURN_DOWN": "burn down,burning down,set fire to,setting fire to,set on fire,prender fuego a,prenderle fuego a,incendiar,incendiarle,quemarle la casa,quemar le la casa",
    "OFF_ROAD": "off the road,off the highway,into a ditch,into oncoming traffic,fuera del camino,fuera de la carretera,a la cuneta",
    "THREAT2": "get what is coming,gets what is coming,get whats coming,getting what is coming,get what he deserves,get what she deserves,get what they deserve,se la va a pagar,se las va a pagar,me las va a pagar,me la va a pagar,va a pagar caro,will pay for this,going to regret it,se va a arrepentir",
    "PERSIST_LATER": "still,hours later,hours after,todavia,aun,sigue,siguen,horas despues",
    # Embarrassment told as an idiom: a trip at the front desk, not a fall that needs a clinician.
    "EMBARRASS": "floor to swallow me,ground to swallow me,earth to swallow me,floor swallow me,"
    "que me tragara la tierra,que me trague la tierra,tragara la tierra,so embarrassing,que verguenza,"
    "embarrassed,embarrassing,mortified,me dio verguenza,me mori de verguenza",
    # "the form asks if", "my mom keeps asking if": a question put to the writer, not a statement.
    "ASKS": "asks if,asking if,asked if,asks whether,asking whether,asks about,asking about,asked about,"
    "pregunta si,preguntan si,preguntando si,me pregunta si,me preguntan si,pregunta sobre",
    # "my mom fainted once": a single past event of someone else's.
    "ONCE": "once,una vez,one time",
    "FULL": "full,so full,llena,bursting,distended,swollen,hinchada,pressure,hurts,hurting,pain,dolor,duele,aching",
}


@dataclass(frozen=True)
class Rule:
    """Concepts that must appear close together (in order unless `ordered` is False).

    `window` is the largest gap in tokens between consecutive parts (ordered; one number, or one per gap)
    or the span of all parts (unordered). `weak` rules are silenced by laughter ("lol", "jaja") in the same message; `blockers`
    are concepts that silence the rule when they follow it directly ("stroke of luck"); `breakers` when
    they come just before it or between its parts ("want *him* dead" is not about the writer); `unless`
    when they occur in the same clause ("*almost* had a heart attack", "*what if* my bp goes up");
    `object_span` is how many tokens after the match `blockers` are looked for ("hurt my brother's
    *feelings*"); `exclude` when a word of the match itself has one of them ("sin *falta de aire*": the word is already a
    symptom, so the negation before it denies the symptom rather than describing it).
    """

    category: str
    parts: tuple[str, ...]
    window: int | tuple[int, ...] = 3
    ordered: bool = True
    weak: bool = False
    blockers: tuple[str, ...] = ()
    breakers: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    object_span: int = 1


def _r(category: str, parts: str, window: int | tuple[int, ...] = 3, **options: object) -> Rule:
    return Rule(category, tuple(parts.split()), window, **options)  # type: ignore[arg-type]


S, OD, HO, ME, US = "suicide", "overdose", "harm-others", "medical-emergency", "urgent-symptom"

RULES: tuple[Rule, ...] = (
    # Suicide and self-harm.
    _r(S, "SUICIDE", 1),
    _r(S, "BURDEN MUCH_LONGER", 6),
    _r(S, "NEG MUCH_LONGER", (6,), weak=True),
    _r(S, "GUN GUN_PURPOSE", 12, ordered=False, unless=("THREAT",)),
    _r(S, "LEDGE JUMP", 12, ordered=False),
    _r(S, "GIVE VALUABLES AWAY", (3, 2)),
    _r(S, "INTENT CUT_V", 2, blockers=("CUT_OBJ", "FOOD")),
    _r(S, "UNTIL_BLEED", 1, unless=("THIRD",)),
    _r(S, "NOT_WAKE", 1),
    _r(S, "HURT_ES_PAST MYSELF", 2),
    _r(S, "INTENT TAKE_ANY PERSON WITH_ME", (2, 3, 2)),
    _r(S, "SELFVERB MYSELF", 2, blockers=("FOOT_IDIOM",)),
    _r(S, "KILL YOURSELF", 1),
    _r(S, "SELFVERB_ES ME", 1),
    _r(S, "ME INTENT KILL_ES", 2),
    _r(S, "ME INTENT DIE", 2, unless=("HYPER",)),
    _r(S, "HACER ME HARM_ES_1P", 1),
    _r(S, "INTENT DIE", 4, breakers=("OTHER_PRON",), unless=("HYPER",)),
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
    _r(S, "SAY GOODBYE", 3, unless=("PLACE_THING",)),
    _r(S, "SAID_GOODBYE", 1, unless=("PLACE_THING",)),
    _r(S, "SAY MY NOTE", 1),
    _r(S, "SAY NOTE EVERYONE", 3),
    _r(S, "HAVE PLAN EOC", 2),
    _r(S, "HAVE PLAN FALL_SUBJ", 2),
    _r(S, "GIVE_AWAY MY VALUABLES", (2, 3)),
    _r(S, "GIVE_AWAY Q VALUABLES", (2, 3)),
    _r(S, "GIVE_AWAY EVERY_THING", 2),
    _r(S, "GIVE_AWAY PET", 3),
    _r(S, "JUMP HIGH_PLACE", 4),
    _r(S, "ACQUIRE ROPE", 3),
    _r(S, "SAVED PILLS", 4, ordered=False),
    _r(S, "CUTTING AGAIN", 2),
    _r(S, "SELFVERB MY BODYPART", (3, 2)),
    _r(S, "RAZOR AGAIN", 4),
    _r(S, "ME INTENT HANG_ES", (2, 2)),
    _r(S, "POINTLESS GO_ON", 3),
    _r(S, "POINTLESS LIVE", 3),
    _r(S, "CUT_ES BODYPART", 3),
    _r(S, "ME CUT_ES AGAIN", 3),
    _r(S, "ME CUT_ES EOC", 1),
    _r(S, "SLEEP_WISH NEG WAKE", 8),
    _r(S, "WANT NEG WAKE", 8),
    # Indirect language: no way out, a night chosen, pain to stop for good, others better off.
    _r(S, "NEG WAY_OUT", 3),
    _r(S, "ONLY WAY_OUT", 3),
    _r(S, "WAY_OUT END", 4, ordered=False),
    _r(S, "RESOLVE_DAY", 1, weak=True, blockers=("OF",), unless=("EVENT",)),
    _r(S, "TIRED ALL_OF_IT", 3),
    _r(S, "INTENT STOP FOREVER", (6, 3), breakers=("TEXTMSG",)),
    _r(S, "STOP FOREVER", 2, breakers=("TEXTMSG",), unless=("TEXTMSG",)),
    _r(S, "NOBODY GONE", 8, ordered=False),
    _r(S, "NOBODY DIE", 8, ordered=False),
    _r(S, "NOBODY DISAPPEAR", 8, ordered=False),
    _r(S, "BETTER GONE", 8, ordered=False),
    _r(S, "NEVER_BORN", 1),
    _r(S, "HATE ALIVE", 3),
    _r(S, "SHOULD NEG ALIVE", 3),
    _r(S, "SHOULD NEG BE_HERE", 3),
    _r(S, "WHAT_POINT LIVE", 4),
    _r(S, "WHAT_POINT GO_ON", 3),
    _r(S, "NEG POINT MORE", (4, 4)),
    _r(S, "NEG POINT GO_ON", (4, 3)),
    _r(S, "LIVE NEG POINT", (3, 3)),
    _r(S, "LIVE POINTLESS", 3),
    _r(S, "WANT OUT EOC", (2, 1), weak=True),
    _r(S, "GIVE_UP ALL_OF_IT", 3),
    _r(S, "GIVE_UP MYSELF", 3),
    _r(S, "GIVE_UP EOC", 1, weak=True),
    _r(S, "NOTHING_LEFT", 1),
    _r(S, "YA CANT EOC", (1, 1)),
    _r(S, "WANT NEG ALIVE", (4, 2)),
    _r(S, "CANT GO_ON", 3),
    # Looking up methods, and the means at hand.
    _r(S, "RESEARCH METHOD", 6),
    _r(S, "GUN AT_HAND", 6, ordered=False, unless=("THREAT",)),
    _r(S, "IAM AT_ON LEDGE", (2, 3), unless=("VEHICLE",)),
    _r(S, "INTENT TAKE_ANY Q PILLS", (4, 2, 4), unless=("ROUTINE", "HYPO")),
    _r(S, "INTENT TAKE_ANY PRONOUN_Q", (4, 2), unless=("ROUTINE", "HYPO", "FOOD")),
    _r(S, "INTENT DRIVE_INTO", 8, ordered=False, breakers=("OTHER",)),
    _r(S, "CRASH ON_PURPOSE", 8, ordered=False),
    # Preparations and farewells.
    _r(S, "REHOME PET", 5, ordered=False),
    _r(S, "PAPERS LEFT_OUT", 6, ordered=False),
    _r(S, "PAPERS WHEN_GONE", 8, ordered=False),
    _r(S, "ARRANGED WHEN_GONE", 8, ordered=False),
    _r(S, "AFFAIRS", 1),
    _r(S, "LAST_INTRO LAST_THING", 2),
    _r(S, "SORRY_ALL", 1),
    _r(S, "BYE EVERYONE_ALL", 2, weak=True, unless=("SEE_YOU",)),
    _r(S, "TELL PERSON LOVE", (3, 4)),
    _r(S, "PLAN_VERB HOW DO_IT", (2, 4)),
    # Self-harm: a blade or a cut on the body, on purpose, again.
    _r(S, "BLADE BODYPART", 6, ordered=False),
    _r(S, "CUTS_N BODYPART", 4),
    _r(S, "SUBJ_I CUT_V AGAIN", (2, 1)),
    _r(S, "HURT_ANY ON_PURPOSE", 8, ordered=False),
    _r(S, "ME HURT_ES_PAST BODYPART", (1, 3)),
    _r(S, "ME HURT_ES_PAST ON_PURPOSE", (1, 4)),
    _r(S, "ME HURT_ES_PAST BLADE", (1, 6)),
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
    # Vague objects after a strong intake verb ("took all of them"), counts without a noun, children.
    _r(OD, "TAKE_PAST PRONOUN_Q", 3, blockers=("FOOD", "YOU_OBJ"), unless=("HYPO", "ROUTINE")),
    _r(OD, "TAKE_PAST BIGNUM EOC", (2, 1)),
    _r(OD, "TAKE_PAST BIGNUM TERM", (2, 1)),
    _r(OD, "TAKE_PAST BIGNUM Q_AFTER", (2, 2)),
    _r(OD, "TAKE_PAST DOUBLE", 2, blockers=("FOOD",), unless=("HYPO",)),
    _r(OD, "TAKE_PAST MANY_Q EOC", (2, 1)),
    _r(OD, "TAKE_PAST MANY_Q TERM", (2, 1)),
    _r(OD, "TAKE_PAST PILLS Q_AFTER", (3, 4)),
    _r(OD, "INGEST CONTAINER PILLS", (4, 3)),
    _r(OD, "KID TAKE3 PILLS", (3, 6)),
    _r(OD, "TAKE_PAST PILLS DOUBLE", (4, 2)),
    _r(OD, "TAKE_PAST Q THAN SUPPOSED", (3, 6, 3)),
    _r(OD, "PILLS LACED", 6, ordered=False),
    _r(OD, "CO_POISON", 1, blockers=("CO_DETECTOR",)),
    _r(OD, "KID GOT_INTO", 3),
    _r(OD, "PILLS LEFT_PILLS", 4, ordered=False, unless=("HYPO",)),
    # Harm to others.
    _r(HO, "INTENT_HARM HARM_VERB OTHER", (6, 3), blockers=("TEXTMSG", "PARTICLE")),
    _r(HO, "OTHER_CLITIC HARM_ES_1P", 4, unless=("CAR_OBJ",)),
    _r(
        HO,
        "HARM_ES_1P OTHER_CLITIC",
        1,
        breakers=("ME",),
        blockers=("BODY", "HEAD", "BODYPART", "LIMB", "FACE"),
    ),
    _r(HO, "INTENT_HARM RUN OTHER OVER", 4),
    _r(HO, "WEAPON THREAT", 12, ordered=False),
    _r(HO, "HOMICIDAL", 1),
    _r(HO, "HIT OTHER", 2, blockers=("TEXTMSG",), unless=("VEHICLE",)),
    _r(HO, "INTENT_HARM HARM_STRONG", 6),
    _r(HO, "HARM_STRONG", 1, weak=True),
    _r(HO, "GO_AFTER WEAPON", 8, ordered=False),
    _r(HO, "HE_SHE REGRET", 4),
    _r(HO, "HE_SHE THREAT", 4),
    _r(HO, "INTENT OTHER_PRON DEAD", (2, 3)),
    _r(HO, "OTHER_PRON INTENT DEAD", (2, 4)),
    _r(HO, "WHAT_DO OTHER", 3),
    _r(HO, "WHAT_DO KID", 3),
    _r(HO, "INTENT_HARM HARM_VERB KID", (6, 3), blockers=("PARTICLE",)),
    _r(HO, "INTENT_HARM BREAK HIS BODY", (4, 1, 2)),
    # Medical emergencies.
    _r(ME, "CHEST PAIN", 5, ordered=False, unless=("HYPO", "FROM_LAUGH")),
    _r(ME, "HEART PAIN", 4, ordered=False),
    _r(ME, "HEART_ATTACK", 1, weak=True, unless=("ALMOST", "HYPO")),
    _r(ME, "CANT BREATHE", 3, weak=True),
    _r(ME, "DIFFICULTY BREATHE", 3, ordered=False, weak=True),
    _r(ME, "BREATH_WEAK", 1, weak=True, unless=("EXERTION",)),
    _r(ME, "NEG BREATHE", 1, exclude=("BREATH_EMERGENCY", "BREATH_WEAK")),
    _r(ME, "BREATH_EMERGENCY", 1, weak=True, blockers=("OF",), unless=("EXERTION",)),
    _r(ME, "SHALLOW BREATHE", 4, ordered=False, weak=True),
    _r(ME, "NEG AIR_VERB BREATHE", (3, 2)),
    _r(ME, "FALTA BREATHE", 2),
    _r(ME, "ON_FLOOR NOT_MOVING", 8, ordered=False),
    _r(ME, "PERSON NOT_MOVING", 4),
    _r(ME, "SPEECH ODD", 4, ordered=False, weak=True, unless=("PERSIST_LATER",)),
    _r(ME, "CANT_SPEAK3", 1),
    _r(ME, "VISION_LOSS", 1),
    _r(ME, "RADIATE LIMB", 4, ordered=False),
    _r(ME, "PAIN RADIATE", 5, ordered=False),
    _r(ME, "THROAT CLOSING", 4, ordered=False),
    _r(ME, "FAINT", 1, weak=True, unless=("HYPO", "HYPERBOLE")),
    _r(ME, "NEG RESPONSIVE", 2),
    _r(ME, "NEG ANSWERING ME_OBJ", 2),
    _r(ME, "PERSON NEG WAKE", 4, breakers=("SO_BAD",)),
    _r(ME, "PERSON UNWAKE", 4, breakers=("SO_BAD",)),
    _r(ME, "CANT WAKE OTHER", 3),
    _r(ME, "SEIZURE", 1, blockers=("OF", "DISORDER"), unless=("HYPO",)),
    _r(ME, "SHAKING ALL_OVER", 2),
    _r(ME, "STROKE", 1, blockers=("OF",), unless=("ALMOST",)),
    _r(ME, "FACE DROOP", 4, ordered=False),
    _r(ME, "SPEECH SLUR", 4, ordered=False),
    _r(ME, "CANT SPEECH SPEAK_OK", 2),
    _r(ME, "SIDE WEAK", 5, ordered=False),
    _r(ME, "LR LIMB WEAK", 5, ordered=False),
    _r(ME, "CANT MOVE LIMB", 4),
    # Urgent symptoms after a session.
    _r(US, "PERSIST VOMIT", 6, ordered=False),
    _r(US, "VOMIT BIGNUM TIMES", (3, 1)),
    _r(US, "VOMIT FEWNUM TIMES", (3, 1)),
    _r(US, "VOMIT Q TIMES", (3, 1)),
    _r(US, "VOMIT MANY_Q TIMES", (3, 1)),
    _r(US, "HEAD EXPLODE", 6, ordered=False),
    _r(US, "NEG RECOGNIZE", 3, blockers=("PHONE_NUM",)),
    _r(US, "NEG KNOW RECOGNIZE", 3, weak=True),
    _r(US, "BLADDER FULL", 4, ordered=False),
    _r(US, "PEE CANT", 3),
    _r(US, "CRASH OBSTACLE", 4, ordered=False, unless=("IMPERSONAL",)),
    _r(US, "VOMIT VOMIT", 2),
    _r(US, "CANT KEEP DOWN", 4),
    _r(US, "CANT RETAIN", 3),
    _r(US, "PRESSURE SYS_HIGH", 4),
    _r(US, "PERSIST SEE HALLU", (3, 3)),
    _r(US, "HALLU WALLS", 4, ordered=False),
    _r(US, "NEG RETAIN", 1),
    _r(US, "EVERY_THING VOMIT", 5),
    _r(US, "SEVERE HEADACHE", 5, ordered=False, unless=("CAUSE_Q",)),
    _r(US, "SEVERE HEAD", 4, ordered=False, unless=("CAUSE_Q",)),
    _r(US, "PERSIST HEADACHE", 5, ordered=False, unless=("CAUSE_Q",)),
    _r(US, "BP VERY_HIGH", 4, ordered=False, unless=("HYPO",)),
    _r(US, "BP HIGH", 3, unless=("HYPO", "MILD")),
    _r(US, "PRESSURE VERY_HIGH", 3, unless=("HYPO",)),
    _r(US, "BP_DIA DIA_HIGH", 3),
    _r(US, "RISE BP", 4, ordered=False, unless=("HYPO", "MILD")),
    _r(US, "RISE PRESSURE", 4, ordered=False, unless=("HYPO", "MILD")),
    _r(US, "BP SYS_HIGH", 4),
    _r(US, "BP_READING", 1),
    _r(US, "PERSIST PSYCH", 7, ordered=False),
    _r(US, "SEE THINGS UNREAL", 3),
    _r(US, "PSYCH UNREAL", 3),
    _r(US, "NEG KNOW WHERE IAM", 3),
    _r(US, "MOVING WALLS", 4, ordered=False),
    _r(US, "FALL_SUBJ FALL", 2, blockers=("FALL_IDIOM", "FROM_LAUGH", "LAUGH"), unless=("EMBARRASS",)),
    _r(US, "EOC FALL", 1, blockers=("FALL_IDIOM", "FROM_LAUGH", "LAUGH"), unless=("EMBARRASS",)),
    _r(US, "HIT HEAD", 4),
    _r(US, "HEAD_INJURY", 1),
    _r(US, "CRASH VEHICLE", 5, ordered=False, unless=("IMPERSONAL",)),
    _r(US, "HIT OBSTACLE", 2),
    _r(US, "GOT_IN CRASH", 3, unless=("OTHERS_THING", "IMPERSONAL")),
    _r(US, "CRASH_ALONE", 1, unless=("OTHERS_THING", "IMPERSONAL")),
    _r(US, "CANT PEE", 3, unless=("HYPO",)),
    _r(US, "DIFFICULTY PEE", 3, unless=("HYPO",)),
    _r(US, "PAIN PEE", 3, ordered=False, unless=("HYPO",)),
    _r(US, "PEE NOTHING_COMES", 6, ordered=False),
    _r(US, "NEG PEE", 1),
    _r(S, "RESOLVED_TO END_IT", 12, ordered=False, blockers=("WITH",)),
    _r(S, "RESOLVED_TO NEG_MAKE_IT", 12, ordered=False),
    _r(S, "RESOLVED_TO GOODBYE", 12, ordered=False),
    _r(S, "END_IT WHEN_SOON", 3, breakers=("WITH",), unless=("OUTING", "EVENT")),
    _r(S, "NEG_MAKE_IT RESOLVED_TO", 8),
    _r(S, "FAREWELL_FINAL", 1, blockers=("WITH",), unless=("PLACE_THING", "SEE_YOU")),
    _r(S, "THANKS_ALL NEG APPT", 16, ordered=False),
    _r(S, "THANKS_ALL NEG NEED_GO APPT", (16, 3, 4)),
    _r(S, "LOVE_ALL APOLOGY", 8, ordered=False),
    _r(S, "NOTE APOLOGY", 8, ordered=False, unless=("TEXTMSG",)),
    _r(S, "EASY_IT MEANS", 16, ordered=False),
    _r(S, "STARE MEANS EASY_IT", 16, ordered=False),
    _r(S, "METHOD_STRONG", 1),
    _r(S, "WALK_INTO DEEP_WATER", 2),
    _r(S, "ANYONE_MISS", 1),
    _r(S, "HAVE ENOUGH PILLS", (3, 3), unless=("REFILL",)),
    _r(S, "PILLS HAVE ENOUGH", (8, 2), unless=("REFILL",)),
    _r(S, "SAVED ENOUGH", 3, unless=("REFILL",)),
    _r(S, "PICK_SPOT", 1, unless=("EVENT", "OUTING", "VEHICLE")),
    _r(S, "RESEARCH HOW DO_IT", (3, 3)),
    _r(S, "RESEARCH HOW END_IT", (3, 3)),
    _r(S, "DO_IT PAINLESS", 3),
    _r(S, "END_IT PAINLESS", 3),
    _r(S, "SELF_BE WORTHLESS", 3),
    _r(S, "WORTHLESS BETTER WITHOUT ME_OBJ", (12, 3, 2)),
    _r(S, "BETTER WHEN_GONE", 8, ordered=False),
    _r(S, "FAVOR NEG LIVE", (6, 2)),
    _r(S, "FAVOR DIE", 6),
    _r(S, "FAVOR GONE", 8, ordered=False),
    _r(S, "FAVOR DISAPPEAR", 6),
    _r(S, "HOT ON_PURPOSE", 10, ordered=False),
    _r(S, "SELF_PART ON_PURPOSE", 10, ordered=False),
    _r(S, "HOLD_ON MY SELF_PART HOT", (2, 2, 4)),
    _r(S, "ME HURT_ES_PAST AGAIN", (1, 3)),
    _r(S, "OTHER_SUICIDE", 1, unless=("PAST",)),
    _r(S, "GUN GUN_PURPOSE", 14, ordered=False, unless=("THREAT",)),
    _r(OD, "FINISH PILLS", 4, unless=("ALCOHOL", "FOOD", "COURSE", "ROUTINE")),
    _r(OD, "FINISH CONTAINER", 4, unless=("ALCOHOL", "FOOD", "COURSE")),
    _r(OD, "FINISH PILLS ALCOHOL", 10, ordered=False),
    _r(OD, "KID PILLS MISSING", 14, ordered=False),
    _r(OD, "FOUND KID PILLS", 10, ordered=False),
    _r(OD, "LACED DRINKOBJ", 6, ordered=False),
    _r(OD, "DRUGGED", 1),
    _r(OD, "TAKE_ANY2 REDOSE", 6, unless=("FOOD",)),
    _r(OD, "FORGOT TAKE_PAST AGAIN", (6, 4)),
    _r(OD, "DRUG_TAKEN UNWAKE", 12, ordered=False),
    _r(OD, "DRUG_TAKEN NEG WAKE", 12, ordered=False),
    _r(HO, "PUT OTHER IN_HOSPITAL", (2, 2)),
    _r(HO, "INTENT_HARM TAKE_OUT OTHER", (4, 3), unless=("OUTING",)),
    _r(HO, "ACQUIRE2 AMMO OMINOUS", 16, ordered=False),
    _r(HO, "ABUSE_PAST OTHER", 2),
    _r(HO, "ABUSE_PAST MY KID", (1, 2)),
    _r(HO, "ABUSE_PAST KID TOO_HARD", (3, 6)),
    _r(HO, "INTENT_HARM REVENGE", 3),
    _r(HO, "REVENGE THREAT", 12, ordered=False),
    _r(ME, "DIZZY WENT_DOWN", 8, ordered=False, blockers=("FALL_IDIOM",), unless=("HYPO",)),
    _r(ME, "CAME_TO EOC", 1),
    _r(ME, "DIZZY CAME_TO", 12, ordered=False),
    _r(US, "URGE_GO NOTHING_COMES", 10, ordered=False),
    _r(US, "NEG KNOW WHERE BE_LOC", (3, 3, 3)),
    _r(US, "HIT CAR_OBJ", 3, unless=("OTHERS_THING",)),
    _r(US, "VOMIT PERSIST", 4, ordered=False),
    _r(S, "INTENT END_IT", 3, blockers=("WITH",), unless=("OUTING", "EVENT")),
    _r(S, "RESEARCH METHOD_STRONG", 6),
    _r(OD, "DRUG_TAKEN NOT_MOVING", 12, ordered=False),
    _r(OD, "DRUG_TAKEN FAINT", 12, ordered=False),
    _r(S, "TELL THANKS_ALL", 4),
    _r(S, "HOW_MANY KILL_ME", 6),
    _r(S, "RESOLVED_TO DO_IT", 12, ordered=False),
    # Generic structures: no reason to stay, a height looked up or stood on, a blade taken into the bath,
    # a plan with a day, tonight like the night of a past attempt.
    _r(S, "NEG POINT LIVE", 5),
    _r(S, "YA_CANT EOC", 1),
    _r(S, "WANT CANT ALIVE", (4, 2)),
    _r(S, "YA_CANT MORE", 3),
    _r(S, "YA_CANT GO_ON", 3),
    _r(S, "YA_CANT LIFE", 3),
    _r(S, "RESEARCH HEIGHT LEDGE", (2, 5)),
    _r(S, "RESEARCH HEIGHT HIGH_PLACE", (2, 5)),
    _r(S, "STOOD LEDGE", 3, unless=("VEHICLE",)),
    _r(S, "BLADE BATH", 8, ordered=False),
    _r(S, "ATTEMPT_PAST LIKE_THEN", 24, ordered=False),
    _r(S, "FIGURED DO_IT", 12, ordered=False),
    # Overdose: a child and a household product; narcan needed now.
    _r(OD, "KID INGEST POISON", 10, ordered=False, unless=("HYPO",)),
    _r(OD, "KID GOT_INTO POISON", 10, ordered=False),
    _r(OD, "NARCAN_NEED NARCAN", 3, unless=("HYPO",)),
    # Harm to others, generically: intent, a violent act, and an object that is not the writer.
    _r(
        HO,
        "INTENT_HARM VIOLENT OBJ",
        (4, 2),
        blockers=("KILL_IDIOM", "BODYPART", "BODY", "LIMB", "HEAD", "FACE", "TEXTMSG"),
        unless=("HYPO",),
        object_span=3,
    ),
    _r(HO, "INTENT_HARM VIOLENT OTHER", (4, 3), unless=("HYPO",)),
    _r(HO, "INTENT_HARM BURN_DOWN OBJ", (4, 1)),
    _r(HO, "INTENT_HARM BURN DOWN_ADV", (3, 5)),
    _r(HO, "INTENT_HARM RUN OFF_ROAD", (4, 4)),
    _r(HO, "INTENT_HARM OTHER_CLITIC VIOLENT", (3, 1)),
    _r(HO, "OTHER THREAT2", 6),
    _r(HO, "THREAT THREAT2", 16, ordered=False),
    _r(HO, "THREAT2 THREAT", 16),
)

# The safety net: read only when no rule above fired, and only for a clause about the writer (a first-person
# word, or no other subject) that no exception explains (`crisis._net_valid`). A means of death or injury
# named in words no rule lists ("a rope in my trunk", "the car running in the garage") fires on its own or
# with the word that makes it ominous ("how many it would take", "not for protection"). Leaning to fire.
NET_RULES: tuple[Rule, ...] = (
    _r(S, "DIE", 1),
    _r(S, "N_STRONG", 1),
    _r(S, "NOT_WAKE", 1),
    _r(S, "KILL MYSELF", 2),
    _r(S, "PILLS N_AMOUNT", 10, ordered=False),
    _r(S, "GUN N_GUN_WHY", 16, ordered=False),
    _r(S, "GUN INTENT", 16, ordered=False),
    _r(S, "N_BELT N_HANG", 8, ordered=False),
    _r(S, "ROPE N_HANG", 8, ordered=False),
    _r(S, "N_ENGINE N_GARAGE", 8, ordered=False),
    _r(S, "N_CUT N_RELAPSE", 8, ordered=False),
    _r(S, "CUTTING N_RELAPSE", 8, ordered=False),
    _r(S, "N_LAST N_THANKS", 16, ordered=False),
    _r(S, "N_LAST THANKS_ALL", 16, ordered=False),
    _r(S, "PLAN N_THIS_TIME", 6, ordered=False),
    _r(S, "GONE N_FREE", 8, ordered=False),
    _r(S, "BURDEN GONE", 16, ordered=False),
    _r(S, "JUMP HIGH_PLACE", 6, ordered=False),
    _r(S, "JUMP LEDGE", 6, ordered=False),
    _r(S, "HOT MYSELF", 6, ordered=False),
    _r(S, "GIVE MY PET OTHER", (2, 2, 4)),
    _r(OD, "DRUG_TAKEN POISON", 8, ordered=False),
    _r(OD, "INGEST POISON", 8, ordered=False),
    _r(OD, "KID POISON", 8, ordered=False),
    _r(HO, "WEAPON THREAT", 24, ordered=False),
    _r(HO, "INTENT_HARM TAKE_OUT N_PLACE", (4, 3)),
    _r(HO, "INTENT_HARM HANG_ES OTHER", (8, 4)),
)

# Words that say who a clause is about: the writer, or someone (or something) else. The net does not
# fire when someone else is the subject ("my cousin jumped", "a guy in the movie").
FIRST_PERSON = _word_set("i,me,my,myself,mine,im,yo,mi,mis,conmigo,mismo,misma")
OTHER_SUBJECT = _word_set(
    "he,she,they,his,her,their,him,them,mom,dad,mother,father,grandmother,grandfather,granny,nana,pet,dog,cat,mama,papa,cousin,prima,primo,sister,brother,"
    "hermana,hermano,friend,amigo,amiga,guy,man,woman,character,someone,somebody,grandma,grandpa,abuela,"
    "abuelo,uncle,aunt,tio,tia,husband,wife,esposo,esposa,son,daughter,hijo,hija,neighbor,vecino,vecina,"
    "movie,film,show,episode,series,book,video,podcast,news,pelicula,serie,libro,noticias,phone,battery,"
    "celular,pila,plant,plants,planta,ella,ellos"
)
# Animals: a pet's symptom ("my cat keeps throwing up hairballs") is for a vet, not an escalation.
PETS = _word_set(
    "cat,cats,dog,dogs,puppy,kitten,kitty,pet,bird,parrot,hamster,rabbit,bunny,perro,perra,perrito,perrita,"
    "gato,gata,gatito,gatita,mascota,hairball,hairballs"
)
# Framing that makes a death word reported rather than felt: forms and histories, progress, media.
REPORTED = _word_set(
    "form,forms,intake,questionnaire,survey,formulario,historial,antecedentes,history,progress,progreso,"
    "proud,orgullosa,orgulloso,movie,pelicula,show,serie,episode,book,libro,documentary,documental"
)

# Phonetic spellings tried on an unknown word: "kiero" -> "quiero", "pesho" -> "pecho".
RESPELLINGS: tuple[tuple[str, str], ...] = (
    ("k", "qu"),
    ("sh", "ch"),
    ("z", "s"),
    ("y", "ll"),
    ("v", "b"),
    ("b", "v"),
)

# "10 years ago", "hace dos anos": a number of these units before "ago", or after "hace", is history.
PAST_UNITS = frozenset({"years", "yrs", "year", "months", "anos", "ano", "meses", "decades", "decadas"})
AGO = frozenset({"ago", "hace"})

# Concepts whose meaning a following word cancels: "dying to see you", "die of embarrassment",
# "me muero de risa", "took 20 mg".
IDIOM_NEXT: dict[str, frozenset[str]] = {
    # "I'm done with the forms", "im done for today": logistics, not finality.
    "R_DONE": _word_set(
        "with,con,for,at,by,eating,here,talking,now,already,early,soon,in,de,en,para,por,the,my"
    ),
    # "dead tired", "dead serious", "dead set on": an intensifier, not a death.
    "DIE": frozenset(
        {
            "of",
            "for",
            "de",
            "por",
            "laughing",
            "laughin",
            "tired",
            "serious",
            "set",
            "wrong",
            "asleep",
            "broke",
            "gorgeous",
            "beautiful",
            "sexy",
            "last",
        }
        | {"silent", "quiet", "center", "centre", "ringer", "even", "cansado", "cansada"}
    ),
    # "drowning in work", and "drowning my newborn" (harm to someone else, not breathlessness).
    "BREATH_EMERGENCY": frozenset(
        {
            "in",
            "en",
            "de",
            "with",
            "con",
            "under",
            "bajo",
            "my",
            "the",
            "him",
            "her",
            "his",
            "them",
            "mi",
            "al",
        }
    ),
    "SUICIDE": frozenset(
        {
            "prevention",
            "awareness",
            "hotline",
            "prevencion",
            "survivors",
            "rates",
            "rate",
            "statistics",
            "squad",
        }
    ),
    "OVERDOSE": frozenset({"of"}),
    # "drop dead gorgeous"; "can't make it thursday" (logistics, not "can't go on"); "a burden asking but...".
    "GO_ON": _word_set(
        "monday,tuesday,wednesday,thursday,friday,saturday,sunday,today,tomorrow,tmrw,to,on,at,in,by,next,"
        "el,la,a,al,hoy,manana,lunes,martes,miercoles,jueves,viernes,sabado,domingo,a tiempo,on time"
    ),
    "WORTHLESS": _word_set(
        "asking,to ask,for asking,preguntando,por preguntar,por pedir,bothering,molestando,but,pero"
    ),
    "BURDEN": _word_set(
        "asking,to ask,for asking,preguntando,por preguntar,por pedir,bothering,molestando,but,pero"
    ),
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

# Concepts cancelled when their object follows, directly or after an article: "blacked out the dates".
IDIOM_OBJECT: dict[str, frozenset[str]] = {
    "FAINT": _word_set(
        "dates,date,days,names,name,parts,part,lines,text,info,numbers,address,calendar,window,windows,"
        "fechas,nombres,dias,partes,datos,screen,photo,photos,faces,details,password"
    ),
}
ARTICLES = _word_set("the,a,an,my,your,his,her,their,those,these,some,all,las,los,la,el,mis,unos,unas")

# Concepts cancelled by the first word of a following phrase too ("drowning *the baby*").
IDIOM_NEXT_FIRST_WORD = frozenset({"BREATH_EMERGENCY"})

# The same for single words: "dying to see you" (but "i want to die to be honest" still counts).
IDIOM_NEXT_WORD: dict[str, frozenset[str]] = {
    "dye": frozenset({"my", "your", "her", "his", "it", "the", "hair", "them", "mine"}),
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

# ---------------------------------------------------------------------------------------------------
# The suicide risk score: read only when no rule and no safety-net rule fired. Each family is a concept;
# a message scores the sum of the weights of the families found in it (each family once), and fires
# "suicide" at RISK_THRESHOLD. One strong cue with one medium cue fires ("razor blades" + "just looking
# at them"), one family alone does not unless it says it all ("i dont see a future"). Exceptions
# (`crisis._risk_cue`): a negated word, laughter near, hyperbole, a reported framing (a form, a movie,
# someone asking), or a clause about someone else with no "i" in it. Negative families (logistics,
# progress, "see you thursday") count wherever they are: a farewell that books the next visit is not one.
# ---------------------------------------------------------------------------------------------------
RISK_CONCEPTS: dict[str, str] = {
    "R_HOPELESS": "no hope,no hope left,hopeless,without hope,sin esperanza,no tengo esperanza,no hay esperanza,"
    "no tiene sentido,"
    "sin sentido,nothing matters,nada importa,no future,"
    "nothing to live for,nada por que vivir,never going to get better,nunca voy a mejorar,"
    "grey nothing,gray nothing,every day is the same,todos los dias son iguales",
    "R_NO_FUTURE": "do not see a future,can not see a future,not see a future,see no future,no future for me,"
    "no veo un futuro,no veo futuro,no tengo futuro,no le veo futuro,sin futuro para mi",
    "R_LAST_RESORT": "last thing,the last thing,last resort,last hope,my last hope,ultima esperanza,"
    "mi ultima esperanza,ultimo recurso,ultima opcion,nothing works,nothing helps,nothing is working,"
    "nothing has worked,not working either,nada funciona,nada me ayuda,nada sirve,nada ha funcionado,"
    "does not work,if it does not work,if this does not work,if this round does not work,if this one does not work,si esto no funciona,"
    "si esta no funciona",
    "R_FINAL": "final message,last message,my last message,last text,my last text,final text,final goodbye,"
    "last day,my last day,my last night,ultimo mensaje,mi ultimo mensaje,ultimo dia,mi ultimo dia,"
    "ultima noche,mi ultima noche,for good,para siempre,gone forever,checking out,check out,"
    "goodbye,good bye,goodbyes,farewell,adios,despedida,me despido,this is it,me voy para siempre",
    "R_DONE": "i am done,i am so done,estoy acabado,estoy acabada,ya termine con todo,ya no mas",
    "R_WHEN": "tonight,esta noche,this weekend,este fin de semana,today,hoy,ahorita",
    "R_DECIDED": "decided,already decided,i have decided,made up my mind,my mind is made up,ya decidi,"
    "ya lo decidi,lo tengo decidido,ya tome la decision,i am ready,estoy listo,estoy lista",
    "R_FAREWELL": "tell everyone i am sorry,tell everyone,"
    "diganle a,diganles,sorry for everything,lo siento por todo,perdon por todo,perdonenme,forgive me,"
    "thank you for trying,thanks for trying,thank you for everything,thanks for everything,gracias por todo,"
    "gracias por intentarlo,gracias por intentar,take care of yourselves,take care of my,cuidense,cuiden a,"
    "cuiden de,love you all,los quiero a todos,los amo a todos,you did everything right,"
    "hiciste todo lo que pudiste,hizo todo lo que pudo,it is not on you,no es tu culpa,no es su culpa",
    "R_MEANS": "razor,razors,razor blade,razor blades,blade,blades,cuchilla,cuchillas,navaja,navajas,gun,guns,"
    "pistol,pistola,arma,rifle,shotgun,rope,soga,cuerda,noose,bridge,puente,the tracks,train tracks,"
    "vias del tren,las vias,median,the median,traffic,into traffic,oncoming traffic,hits me,something hits me,"
    "a car hits me,hit by a car,me atropelle,me atropellen,venas,las venas,veins,overpass,ledge,azotea,"
    "in front of a train,frente al tren",
    "R_PILLS": "pills,pastillas,meds,medicamentos,bottle,frasco,pastis",
    "R_AMOUNT": "counting,counted,enough,all of them,todas,contando,conte,stockpiling,guardando",
    "R_SEEK": "google,googled,googling,looked up,look up,looking up,searched,search,busque,buscando,busco,"
    "investigue,researched,researching",
    "R_HOW": "how to,how do you,how do i,how many,how much,how long,how high,como,como se,cuantas,cuantos,"
    "painless,quickest way,fastest way,easiest way,la forma mas facil,la manera mas facil",
    "R_PICK_DAY": "pick a day,picked a day,picking a day,choose a day,chose a day,escoger el dia,elegir el dia,"
    "picked the day,set a date,puse fecha",
    "R_PREP": "everything is ready,todo esta listo,everything ready,all ready,got everything ready,todo listo,tengo todo listo,todo preparado,"
    "gave away,giving away,given away,regale,regalando,wrote my will,mi testamento,testamento",
    "R_NOTE": "note,the note,a note,carta,la carta,una carta",
    "R_WISH": "hoping,kinda hoping,keep thinking about,keep thinking,thinking of,thinking about,thinking bout,"
    "pensando en,sigo pensando,sigo pensando en,no dejo de pensar en,tempted,urge,urges,ganas de,tengo ganas,would be nice to,seria bueno",
    "R_STEER": "steering into,steer into,swerve into,drive into,driving into,drive off,driving off,veer into,"
    "driving way too fast,driving too fast,manejar hacia,estrellarme,a proposito,on purpose",
    "R_DISAPPEAR": "disappear,desaparecer,vanish,dejar de existir,stop existing,cease to exist,not exist",
    "R_STOP_ME": "stop me,stop me from,detenerme,me detenga,keep me safe,antes de que haga algo",
    "R_STUPID": "something stupid,something dumb,something drastic,something i will regret,una tonteria,"
    "una locura,algo estupido,algo tonto,algo drastico",
    "R_STARE": "looking at them,looking at it,staring at,just looking at,keep looking at,mirandolas,mirandola,"
    "las estoy mirando,lo estoy mirando",
    "R_SELF_ACT": "using it on my,been using it on,cortandome,me estoy cortando",
    "R_CUTTING": "cutting,cuttin,cortarme,cortar me,cortarse,cortar se",
    "R_BODY": "thighs,wrists,forearms,muslos,munecas",
    "R_ABBREV": "sui,sh,ctb,unalive,unaliving,unalived,sewerslide,sewer slide",
    "R_THOUGHTS": "thoughts,ideas,pensamientos,are back,is back,back again,again,otra vez,de nuevo,regresaron,"
    "volvieron",
    "R_ATTEMPT": "attempted,i attempted,my attempt,last attempt,tried before,intente,lo intente,mi intento,"
    "intento de suicidio",
    "R_SAME_AGAIN": "feels like that night,feels like last time,feels like the same,same as that night,same headspace,headspace,exact same headspace,same place,same dark place,like that night,"
    "like that time,like last time,like before,like the last time,como aquella noche,como aquella vez,"
    "como la ultima vez,como antes,same way i felt",
    # Negative families: the message is about logistics, progress or the next visit.
    "R_LOGISTICS": "forms,the forms,paperwork,papeles,sorry for the delay,sorry for the late reply,"
    "perdon por la demora,reschedule,appointment,appt,cita,parking,estacionamiento,invoice,payment,pago,copay",
    "R_PROGRESS": "progress,feeling better,feel better,doing better,so much better,much better,"
    "me siento mejor,mucho mejor,estoy mejor,helped,ayudo,proud,orgulloso,orgullosa,grateful,agradecido,"
    "agradecida",
    "R_SEE_YOU": "see you,see u,nos vemos,hasta la proxima,until next time,next week,la proxima semana,"
    "next session,la proxima sesion,talk soon",
}
RISK_WEIGHTS: dict[str, int] = {
    "R_HOPELESS": 2,
    "R_NO_FUTURE": 4,
    "R_LAST_RESORT": 2,
    "R_FINAL": 2,
    "R_DONE": 2,
    "R_WHEN": 1,
    "R_DECIDED": 2,
    "R_FAREWELL": 2,
    "R_MEANS": 2,
    "R_PILLS": 1,
    "R_AMOUNT": 1,
    "R_SEEK": 2,
    "R_HOW": 1,
    "R_PREP": 2,
    "R_PICK_DAY": 2,
    "R_NOTE": 1,
    "R_WISH": 2,
    "R_STEER": 2,
    "R_DISAPPEAR": 2,
    "R_STOP_ME": 2,
    "R_STUPID": 2,
    "R_STARE": 2,
    "R_SELF_ACT": 3,
    "R_CUTTING": 2,
    "R_BODY": 1,
    "R_ABBREV": 3,
    "R_THOUGHTS": 1,
    "R_ATTEMPT": 2,
    "R_SAME_AGAIN": 2,
    "R_LOGISTICS": -2,
    "R_PROGRESS": -3,
    "R_SEE_YOU": -3,
}
RISK_THRESHOLD = 4
# Words that put the writer in a clause as its subject; "my" alone does not ("my brothers gun").
FIRST_SUBJECT = _word_set("i,me,myself,yo,conmigo,mismo,misma,im")
