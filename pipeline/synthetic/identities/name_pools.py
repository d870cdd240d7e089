"""Name pools by heritage, spelling variants and nicknames for the synthetic county.

Each pool lists common names of one heritage, most common first (weights: Zipf-like, see
``identities.names._zipf_weights``). Spellings are ASCII, as most UK case-management systems store them
(and cp1252 exports need).
"""

from __future__ import annotations

SURNAME_POOLS: dict[str, list[str]] = {
    "british": """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
        Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson Wood Turner
        Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott
        Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson
        Bailey Collins Bell Shaw Murphy Miller Cox Richards Marshall Anderson Simpson Ellis Adams
        Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Holmes Palmer Graham Barker Knight Lloyd
        Butler Russell Barnes Dixon Hunt Fisher Matthews Stevens Reid Jenkins Fletcher Pearson Hunter
        Howard Atkinson Fox Hart Mills Gibson Lawrence Dawson Ashworth Sutcliffe Pickering Holroyd
        McDonald Macdonald Stewart Campbell Henderson Ferguson Ramsbottom Bradshaw""".split(),
    "irish": """Murphy Kelly O'Brien Byrne Ryan O'Sullivan Walsh O'Connor McCarthy Doyle Gallagher
        Doherty Kennedy Lynch Murray Quinn Moore McLaughlin Carroll Connolly Daly O'Neill Brennan Burke
        Reilly Flynn""".split(),
    "polish": """Nowak Kowalski Wisniewski Wojcik Kowalczyk Kaminski Lewandowski Zielinski Szymanski
        Wozniak Dabrowski Kozlowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski Nowakowski
        Pawlowski Michalski Adamczyk Dudek Zajac""".split(),
    "romanian": """Popa Popescu Pop Radu Dumitru Stan Stoica Gheorghe Matei Ciobanu Ionescu Rusu
        Munteanu Constantin Marin Moldovan Lupu Florea Dinu Tudor""".split(),
    "pakistani": """Khan Hussain Ali Ahmed Akhtar Mahmood Iqbal Shah Bibi Rehman Butt Malik Aslam Rashid
        Chaudhry Raza Javed Mirza Qureshi Sheikh Riaz Nawaz Anwar Saleem Ashraf Tariq Hameed Yousaf
        Shafiq Zaman Mughal Bashir Abbas Afzal Arshad""".split(),
    "indian": """Patel Singh Kaur Sharma Kumar Gill Sandhu Shah Mistry Parmar Sidhu Dhillon Mehta Desai
        Chauhan Joshi Sohal Bains Johal Grewal Lal Gupta Rai Nair Pillai Reddy Mann Chopra Kapoor
        Solanki Chavda Thakrar Lakhani Virdee""".split(),
    "bangladeshi": """Begum Miah Ahmed Uddin Islam Rahman Hussain Ali Khatun Hoque Choudhury Alam
        Hossain Chowdhury Ullah Karim Sarkar Akter Bibi Mahmud Kabir Haque Rahim Talukdar""".split(),
    "nigerian": """Okafor Adeyemi Okonkwo Adebayo Ogunleye Balogun Eze Nwosu Okoro Olawale Afolabi
        Adeleke Ibrahim Bello Abubakar Okeke Obi Nwachukwu Adewale Akinola Oladipo Chukwu Babatunde
        Ogunbiyi Onyeka Oyelaran""".split(),
    "ghanaian": """Mensah Owusu Boateng Asante Osei Appiah Agyeman Darko Ofori Amoah Addo Acheampong
        Antwi Ansah Boakye Danso Kwarteng Sarpong Yeboah Opoku""".split(),
    "somali": """Mohamed Abdi Ali Hassan Ahmed Farah Omar Yusuf Warsame Osman Ismail Abdullahi Jama Nur
        Hussein Aden Egal Dahir Guled Hersi Elmi Muse""".split(),
    "caribbean": """Campbell Brown Williams Thomas Johnson Smith Clarke Francis Grant Reid Morgan Lewis
        Bailey Henry Stewart Gordon Robinson Edwards Thompson Allen Walker Forbes Bryan McKenzie Powell
        Samuels Gayle Ferguson Blake Daley""".split(),
    "chinese": """Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Lin Guo He Wong Chan
        Cheung Lam Leung Ng Ho Lee Tang Yip Chu""".split(),
    "arabic": """Mohamed Ahmed Ali Hassan Hussein Ibrahim Abdullah Mahmoud Saleh Khalil Mansour Haddad
        Nasser Rahman Said Hamid Aziz Yousef Karim Suleiman Farouk Al-Hassan Al-Sayed Omar Kassem Jaber
        Darwish""".split(),
    "turkish": """Yilmaz Kaya Demir Sahin Celik Yildiz Yildirim Ozturk Aydin Ozdemir Arslan Dogan Kilic
        Aslan Cetin Kara Koc Kurt Ozkan Simsek""".split(),
    "vietnamese": "Nguyen Tran Le Pham Hoang Phan Vu Dang Bui Do Ho Ngo Duong Ly".split(),
}

FORENAME_POOLS: dict[str, dict[str, list[str]]] = {
    "british": {
        "M": """Oliver Jack Harry George Noah Charlie Jacob Thomas Oscar William James Leo Alfie Joshua
            Freddie Archie Ethan Isaac Henry Alexander Daniel Samuel Joseph Max Lucas Logan Theo Arthur
            Edward Benjamin Harrison Mason Dylan Tyler Jayden Lewis Ryan Callum Liam Kieran Connor Jake
            Luke Matthew Adam Nathan Reuben Finley Louie Toby Riley Elliot Jenson Albert Teddy Frederick
            Rory Sebastian Michael Christopher Aaron Bradley Cameron Kyle Owen Harvey Zachary Hugo
            Stanley Ronnie Ollie Reggie Aiden""".split(),
        "F": """Olivia Amelia Isla Ava Emily Sophie Grace Lily Isabella Mia Poppy Ella Jessica Sophia
            Charlotte Evie Ruby Freya Chloe Daisy Phoebe Sienna Holly Millie Erin Megan Lucy Ellie Hannah
            Emma Lauren Abigail Katie Amy Rebecca Elizabeth Rosie Florence Matilda Willow Harper Ivy
            Evelyn Elsie Maisie Scarlett Imogen Eleanor Alice Molly Paige Leah Zara Esme Georgia Bethany
            Courtney Jasmine Summer Layla Bella Aimee Caitlin Victoria Katherine Jennifer Samantha
            Olive""".split(),
    },
    "irish": {
        "M": """Sean Conor Patrick Ciaran Niall Cian Darragh Oisin Eoin Liam Aidan Declan Padraig Ronan
            Finn""".split(),
        "F": """Aoife Siobhan Ciara Niamh Saoirse Roisin Orla Caoimhe Sinead Grainne Mairead Clodagh
            Aisling Eimear Bridget""".split(),
    },
    "polish": {
        "M": """Jakub Kacper Szymon Filip Jan Antoni Mateusz Bartosz Michal Wojciech Piotr Tomasz Kamil
            Dawid Adrian Oliwer""".split(),
        "F": """Zuzanna Julia Lena Maja Hanna Zofia Amelia Alicja Natalia Wiktoria Oliwia Aleksandra
            Agnieszka Katarzyna Magdalena Karolina""".split(),
    },
    "romanian": {
        "M": "Andrei Alexandru David Stefan Mihai Ionut Gabriel Darius Luca Cristian Florin Vlad".split(),
        "F": "Maria Ioana Elena Andreea Alexandra Bianca Sofia Daria Ana Gabriela Denisa Raluca".split(),
    },
    "pakistani": {
        "M": """Muhammad Mohammed Ali Ahmed Hamza Ibrahim Yusuf Zain Abdullah Bilal Hassan Usman Umar Adam
            Ayaan Rayyan Haris Zakariya Imran Faisal Asif Arslan Saad Talha Abdul Ismail Musa Haroon
            Mohammad""".split(),
        "F": """Fatima Aisha Maryam Zainab Hafsa Amina Khadija Ayesha Sana Iqra Alishba Eman Hiba Anaya
            Inaya Zara Noor Mahnoor Hania Safa Areeba Mariam Samina""".split(),
    },
    "indian": {
        "M": """Arjun Aarav Rohan Vihaan Dev Aryan Krish Rahul Gurpreet Harjeet Manpreet Amarjit Sukhdeep
            Vikram Ravi Sanjay Nikhil Yash Ishaan Karan Neel Jai Veer Parth Pranav Jaspreet""".split(),
        "F": """Priya Anjali Simran Diya Aanya Riya Isha Kavya Navneet Harleen Gurleen Amrit Pooja Neha
            Shreya Anika Meera Sonia Divya Jasleen Mehak Saanvi Tara Kiran""".split(),
    },
    "bangladeshi": {
        "M": """Mohammed Abdul Rahim Karim Ayaan Ibrahim Rayyan Sami Tanvir Rafiq Shahid Jamal Arif Habib
            Mahir Nabil Mizanur Shafiqul Muhammad""".split(),
        "F": """Fatima Sumaiya Tasnim Nusrat Ruksana Shamima Sadia Jannat Tahmina Anisa Farhana Rabia
            Halima Ayesha Maryam Nadia""".split(),
    },
    "nigerian": {
        "M": """David Daniel Emmanuel Samuel Chukwuemeka Oluwaseun Tobi Ayomide Chidi Tunde Femi
            Oluwatobi Ifeanyi Kelechi Obinna Michael Joshua Praise Victor Gabriel""".split(),
        "F": """Precious Blessing Favour Esther Grace Chioma Adaeze Folake Ngozi Temitope Deborah Abigail
            Chiamaka Ifeoma Funmilayo Adanna Tolulope Ebunoluwa Amara""".split(),
    },
    "ghanaian": {
        "M": "Kwame Kofi Kwabena Kwasi Kojo Yaw Kwaku Nana Emmanuel Prince Samuel Richmond Isaac".split(),
        "F": "Ama Akua Abena Adwoa Afua Yaa Esi Efua Akosua Nana Gifty Comfort Priscilla".split(),
    },
    "somali": {
        "M": """Mohamed Abdi Ahmed Abdirahman Abdullahi Mustafa Yusuf Hassan Omar Ismail Abdirahim Hamza
            Khalid Said Bashir""".split(),
        "F": """Hodan Amina Fadumo Hibo Ifrah Khadra Sagal Nasra Ayan Filsan Hamdi Sumaya Fardowsa Deeqa
            Safiya""".split(),
    },
    "caribbean": {
        "M": """Jermaine Tyrone Marcus Andre Kemar Leon Jordan Jahmal Dwayne Devon Tyrell Malachi Josiah
            Elijah Isaiah Kai Nathaniel Kyrie Jayden Tremaine""".split(),
        "F": """Shanice Keisha Aaliyah Tiana Jada Imani Nia Kiara Chantelle Latoya Naomi Destiny Serenity
            Amani Jasmine Tanisha Simone Monique Alicia""".split(),
    },
    "chinese": {
        "M": "Wei Jun Hao Yi Jie Ming Lei Chen Tian Kai Ethan Ryan Jason Kevin".split(),
        "F": "Mei Li Xin Yan Ling Jing Hui Ying Xiaoyu Lily Chloe Grace Jenny Amy".split(),
    },
    "arabic": {
        "M": """Omar Ahmad Youssef Khalid Mahmoud Ali Hassan Karim Tariq Sami Adam Rami Ziad Nasser Faisal
            Hamza Mohamad Mohammad""".split(),
        "F": """Layla Noor Yasmin Rania Maryam Hana Salma Lina Dalia Reem Nadia Amira Sara Fatimah Huda
            Jana Aya Malak""".split(),
    },
    "turkish": {
        "M": "Emre Mehmet Mustafa Ahmet Yusuf Eren Burak Kerem Can Deniz Arda Baran Efe Kaan Murat".split(),
        "F": "Elif Zeynep Ayse Fatma Esra Defne Ecem Melis Ebru Selin Hatice Merve Aylin Emine Leyla".split(),
    },
    "vietnamese": {
        "M": "Minh Duc Anh Tuan Hung Nam Long Khoa Huy Phuc".split(),
        "F": "Linh Huong Thao Trang Ngoc Lan Mai Hoa Thu Van".split(),
    },
}

GROUP_HERITAGE: dict[str, dict[str, float]] = {
    "White": {"british": 0.86, "irish": 0.03, "polish": 0.07, "romanian": 0.04},
    "Asian": {"pakistani": 0.45, "indian": 0.40, "bangladeshi": 0.15},
    "Black": {"nigerian": 0.35, "ghanaian": 0.15, "somali": 0.25, "caribbean": 0.25},
    "Other": {"chinese": 0.25, "arabic": 0.40, "turkish": 0.25, "vietnamese": 0.10},
    "Mixed": {"british": 0.55, "caribbean": 0.15, "nigerian": 0.08, "pakistani": 0.07, "indian": 0.07,
              "arabic": 0.05, "chinese": 0.03},
    "Unknown": {"british": 0.70, "polish": 0.04, "pakistani": 0.06, "indian": 0.05, "bangladeshi": 0.02,
                "nigerian": 0.04, "somali": 0.02, "caribbean": 0.02, "arabic": 0.03, "chinese": 0.02},
}
"""Heritage blend per ethnicity group ("Unknown" serves any other value)."""
HERITAGES = list(SURNAME_POOLS)
"""Heritage keys in pool order: a person's heritage is drawn as an index into this list."""
FORENAME_WIDTH = max(len(n) for pools in FORENAME_POOLS.values() for pool in pools.values() for n in pool)

# Spellings of one name (transliterations, anglicisations): each maps to all the others.
_SPELLING_GROUPS = [
    "Muhammad Mohammed Mohammad Mohamed Mohamad Muhammed", "Aisha Ayesha Aishah Ayisha",
    "Fatima Fatimah Fatma", "Yusuf Yousef Yousuf Youssef Yusef", "Abdul Abdool Abdal",
    "Ahmed Ahmad Ahmet", "Ibrahim Ebrahim Ibraheem", "Maryam Mariam Maryum", "Zainab Zaynab Zeynab",
    "Khadija Khadijah Khadeeja", "Hamza Hamzah", "Umar Omar", "Usman Osman Uthman",
    "Zakariya Zakaria Zakariyya", "Amina Aminah Ameena", "Rayyan Rayan", "Ismail Ismael",
    "Hassan Hasan", "Abdullah Abdulla", "Sumaiya Sumaya Sumayyah", "Mustafa Mustapha",
    "Abdirahman Abdurahman Abdulrahman", "Layla Leila Laila Leyla", "Yasmin Yasmeen Yasmine",
    "Noor Nur", "Mahmoud Mahmood Mahmud", "Khalid Khaled", "Tariq Tarek Tarik", "Karim Kareem",
    "Rahim Raheem", "Bilal Belal", "Haris Harris", "Haroon Harun Haroun", "Musa Moosa", "Imran Emran",
    "Iqra Iqrah", "Sana Sanah", "Eman Iman", "Hiba Heba", "Inaya Inayah", "Hania Haniya",
    "Tanvir Tanveer", "Rafiq Rafique", "Jamal Jamaal", "Habib Habeeb", "Ruksana Rukhsana",
    "Sadia Sadiya", "Tasnim Tasneem", "Rabia Rabiya", "Halima Halimah", "Nadia Nadiya",
    "Abdullahi Abdilahi", "Fadumo Faduma", "Khadra Khadro", "Hibo Hibaq", "Ifrah Ifra",
    "Mehmet Mehmed", "Ayse Aysha", "Kwame Kwami", "Adwoa Adjoa", "Abena Abenaa", "Aaliyah Aliyah Aleah",
    "Keisha Kesha", "Shanice Shaniece", "Callum Calum", "Connor Conor", "Kieran Ciaran",
    "Aidan Aiden", "Jayden Jaden", "Lewis Louis", "Niamh Neve", "Saoirse Seersha", "Oisin Osheen",
    "Sara Sarah", "Hana Hanaa", "Ziad Ziyad", "Nasser Nasir", "Faisal Faysal", "Amira Ameera",
    "Aarav Arav", "Vihaan Vihan", "Harleen Harlene", "Zara Zarah", "Leah Lea", "Sienna Siena",
]
_NICKNAMES = {
    "William": "Bill Will Billy", "Elizabeth": "Beth Liz Lizzie Eliza", "Alexander": "Alex Xander",
    "Benjamin": "Ben", "Samuel": "Sam Sammy", "Joseph": "Joe Joey", "Thomas": "Tom Tommy",
    "James": "Jim Jamie", "Daniel": "Dan Danny", "Matthew": "Matt", "Christopher": "Chris",
    "Michael": "Mike Mikey", "Nathan": "Nate", "Frederick": "Fred Freddie", "Zachary": "Zach",
    "Edward": "Ed Eddie Ted", "Henry": "Harry Hal", "Jacob": "Jake", "Joshua": "Josh",
    "Charlotte": "Lottie Charlie", "Isabella": "Bella Izzy", "Sophia": "Sophie", "Eleanor": "Ellie Nell",
    "Jessica": "Jess", "Rebecca": "Becky Becca", "Katherine": "Kate Katie Kathryn",
    "Jennifer": "Jenny Jen", "Samantha": "Sam", "Victoria": "Vicky Tori", "Abigail": "Abbie Abby",
    "Amelia": "Millie", "Florence": "Flo", "Matilda": "Tilly", "Olivia": "Liv", "Imogen": "Immy",
    "Harrison": "Harry", "Sebastian": "Seb", "Oliver": "Ollie", "Albert": "Bertie", "Nathaniel": "Nate",
    "Chukwuemeka": "Emeka", "Oluwaseun": "Seun", "Oluwatobi": "Tobi", "Temitope": "Tope",
    "Funmilayo": "Funmi", "Tolulope": "Tolu", "Ebunoluwa": "Ebun", "Chiamaka": "Amaka",
    "Adaeze": "Ada", "Ifeanyi": "Ify", "Kwabena": "Kobby", "Jakub": "Kuba", "Michal": "Michael",
    "Wojciech": "Voytek", "Piotr": "Peter", "Tomasz": "Tom", "Katarzyna": "Kasia", "Agnieszka": "Aga",
    "Aleksandra": "Ola Alex", "Magdalena": "Magda", "Zuzanna": "Zuza", "Sukhdeep": "Sukh",
    "Harjeet": "Harry", "Jaspreet": "Jas", "Manpreet": "Manny", "Krish": "Krishna",
    "Stefan": "Steve", "Alexandru": "Alex", "Andrei": "Andrew", "Xiaoyu": "Yu",
}
FORENAME_VARIANTS: dict[str, tuple[str, ...]] = {
    name: tuple(v for v in group.split() if v != name) for group in _SPELLING_GROUPS for name in group.split()
}
FORENAME_VARIANTS.update({k: FORENAME_VARIANTS.get(k, ()) + tuple(v.split()) for k, v in _NICKNAMES.items()})
"""Name (title case) -> the variants a record may carry instead."""
